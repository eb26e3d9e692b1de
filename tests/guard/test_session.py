"""delete-guard's run before any prompt: the unattended refusal comes first, then the target
checks, both from GuardOptions alone (the pty tests in tests/commands drive the whole run)."""
from __future__ import annotations

import io

import pytest

from cutover.errors import EXIT_REFUSED, RefusedError, UsageError
from cutover.guard.session import GuardOptions, build_target, refuse_unattended, run


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (GuardOptions("d1"), "d1 needs the database NAME"),
        (GuardOptions("d1", name="trading", binding="KV"), "are for kv-namespace, not d1"),
        (GuardOptions("kv-namespace", name="x", namespace_id="ab"), "not a positional NAME"),
        (GuardOptions("kv-namespace"), "exactly one of"),
        (GuardOptions("kv-namespace", namespace_id="ab", binding="KV"), "exactly one of"),
    ],
)
def test_bad_targets_are_usage_errors(options: GuardOptions, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_target(options)


def test_targets() -> None:
    assert build_target(GuardOptions("d1", name="trading")).confirm_text == "trading"
    assert build_target(GuardOptions("kv-namespace", namespace_id="0f2a")).confirm_text == "0f2a"


def test_ci_is_refused_even_at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.delenv("CI", raising=False)
    refuse_unattended()  # a terminal, no CI: allowed
    monkeypatch.setenv("CI", "1")
    with pytest.raises(RefusedError, match="CI is set") as info:
        refuse_unattended()
    assert info.value.exit_code == EXIT_REFUSED


def test_refusal_comes_before_any_other_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a run that would be a usage error is refused first without a terminal."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("trading\n"))
    with pytest.raises(RefusedError, match="stdin is not a terminal"):
        run(GuardOptions("d1"))
