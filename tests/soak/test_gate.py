"""The PROCEED/PIVOT gate on its edges: the threshold itself, too few samples, no baseline."""
from __future__ import annotations

import pytest

from cutover import errors
from cutover.soak.gate import EXIT_CODES, INCONCLUSIVE, PIVOT, PROCEED, REPORT_ONLY, decide


def test_every_decision_has_the_documented_exit_code() -> None:
    assert EXIT_CODES == {PROCEED: 0, REPORT_ONLY: 0, PIVOT: 4, INCONCLUSIVE: 5}
    assert {EXIT_CODES[PIVOT], EXIT_CODES[INCONCLUSIVE]} == {errors.EXIT_GATE_FAILED, errors.EXIT_INCONCLUSIVE}


def test_without_a_baseline_it_reports_only_whatever_the_figures() -> None:
    for p95, n in ((99_999.0, 1_000), (None, 0), (1.0, 3)):
        gate = decide(p95, n, None, 2.5, 20)
        assert (gate.decision, gate.exit_code, gate.threshold_ms) == (REPORT_ONLY, 0, None)
        assert "--baseline-cold-ping-ms" in gate.reason


@pytest.mark.parametrize("n, p95", [(19, 10.0), (0, None), (25, None)])
def test_too_few_cold_samples_or_no_p95_is_inconclusive(n: int, p95: float | None) -> None:
    gate = decide(p95, n, 400.0, 2.5, 20)
    assert (gate.decision, gate.exit_code) == (INCONCLUSIVE, 5)
    assert f"{n} cold (all commands) samples" in gate.reason and "--min-cold-samples 20" in gate.reason


def test_the_threshold_itself_proceeds_and_just_above_pivots() -> None:
    at = decide(1000.0, 20, 400.0, 2.5, 20)  # 2.5 x 400 = 1000: "<= threshold" passes
    above = decide(1000.05, 20, 400.0, 2.5, 20)
    assert (at.decision, at.exit_code, at.threshold_ms) == (PROCEED, 0, 1000.0)
    assert (above.decision, above.exit_code) == (PIVOT, 4)
    assert "1000.0 ms <= 2.5 x baseline 400 ms = 1000.0 ms" in at.reason
    assert ">" in above.reason and "1000.0 ms" in above.reason


def test_a_gate_on_one_command_names_it_and_zero_min_samples_decides_on_any() -> None:
    gate = decide(50.0, 1, 100.0, 1.0, 0, cmd="/start")
    assert gate.decision == PROCEED and gate.cmd == "/start" and gate.reason.startswith("cold /start P95")
    assert decide(150.0, 1, 100.0, 1.0, 0, cmd="/start").decision == PIVOT
