"""What analyze-soak and soak-watch resolve alike: the baseline, the patterns, stdout."""
from __future__ import annotations

import pytest

from cutover.errors import EXIT_USAGE, UsageError
from cutover.soak.model import CPU_OUTCOME, DUAL_WRITE_PATTERN, MONGO_ERROR_PATTERN, Patterns
from cutover.soak.options import AnalyzeOptions, baseline, check_patterns, one_stdout, patterns


def test_the_flag_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASELINE_COLD_PING_MS", "420")
    assert baseline(300) == 300.0 and isinstance(baseline(300), float)
    assert baseline(None) == 420.0
    monkeypatch.setenv("BASELINE_COLD_PING_MS", "  ")
    assert baseline(None) is None
    monkeypatch.delenv("BASELINE_COLD_PING_MS")
    assert baseline(None) is None


@pytest.mark.parametrize("raw, why", [("fast", "not a number"), ("0", "must be > 0"), ("-3", "must be > 0"),
                                      ("nan", "must be > 0")])
def test_a_bad_environment_baseline_is_a_usage_error_naming_it(monkeypatch: pytest.MonkeyPatch, raw: str, why: str) -> None:
    monkeypatch.setenv("BASELINE_COLD_PING_MS", raw)
    with pytest.raises(UsageError) as info:
        baseline(None)
    assert info.value.exit_code == EXIT_USAGE
    assert info.value.message.startswith("BASELINE_COLD_PING_MS=") and why in info.value.message


def test_patterns_left_out_take_their_defaults() -> None:
    assert patterns() == Patterns() and patterns().is_default
    chosen = patterns(mongo_error="pool gone")
    assert (chosen.dual_write, chosen.mongo_error, chosen.cpu_outcome) == (DUAL_WRITE_PATTERN, "pool gone", CPU_OUTCOME)
    assert not chosen.is_default
    assert patterns("", "", "") == Patterns()  # an empty flag is no pattern
    assert AnalyzeOptions(cpu_outcome="exceededMemory").patterns == Patterns(cpu_outcome="exceededMemory")
    assert MONGO_ERROR_PATTERN in AnalyzeOptions().patterns.mongo_error


def test_a_pattern_that_is_no_regex_names_its_flag() -> None:
    assert check_patterns(Patterns()) == Patterns()
    for kwargs, flag in (({"dual_write": "(unclosed"}, "--dual-write-pattern"), ({"mongo_error": "[z-a]"}, "--mongo-error-pattern")):
        with pytest.raises(UsageError) as info:
            check_patterns(patterns(**kwargs))
        assert info.value.message.startswith(f"{flag} ")


def test_only_one_output_may_take_stdout() -> None:
    one_stdout((("--output", "-"), ("--json", "x.json"), ("--chart", None)))
    one_stdout(())
    with pytest.raises(UsageError) as info:
        one_stdout((("--output", "-"), ("--json", None), ("--chart", "-")))
    assert info.value.message == "--output - and --chart - cannot share stdout: send all but one to a file"
