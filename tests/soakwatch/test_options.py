"""soak-watch's options checked before anything is read or fetched; the API's query filters."""
from __future__ import annotations

import pytest

from cutover.errors import UsageError
from cutover.logfetch.query import soak_filter
from cutover.soakwatch.api import api_filters
from cutover.soakwatch.conditions import Limits
from cutover.soakwatch.options import Options, resolved

GROUP = "5f1a2b3c4d5e6f7a8b9c0d1e"
PROCESS = "cluster0-shard-00-01.ab1cd.mongodb.net:27017"


@pytest.mark.parametrize("options, message", [
    (Options(input="x", atlas_group=GROUP), "--atlas-group and --atlas-process go together"),
    (Options(input="x", atlas_process=PROCESS), "--atlas-group and --atlas-process go together"),
    (Options(input="x", atlas_group=GROUP, atlas_process=PROCESS, atlas_max_pct=None), "--atlas-max-pct off"),
    (Options(input="x", atlas_group="not-hex", atlas_process=PROCESS), "group"),
    (Options(input="x", limits=Limits(stop_hours=0)), "--stop-hours must be at least 1"),
    (Options(input="x", budget_headroom=1.0), "--budget-headroom"),
    (Options(input="x", budget_headroom=-0.1), "--budget-headroom"),
    (Options(input="x", output="-", json="-"), "--output - and --json - cannot share stdout"),
    (Options(input="x", dual_write_pattern="(x"), "--dual-write-pattern"),
])
def test_a_bad_option_is_a_usage_error_naming_it(options: Options, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASELINE_COLD_PING_MS", raising=False)
    with pytest.raises(UsageError) as info:
        resolved(options)
    assert message in info.value.message


def test_resolved_reads_the_baseline_from_the_environment_and_keeps_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASELINE_COLD_PING_MS", "400")
    asked = Options(input="-", limits=Limits(factor=2.0), atlas_max_pct=None)
    done = resolved(asked)
    assert done.limits.baseline_cold_ping_ms == 400.0 and done.limits.threshold_ms == 800.0
    assert done == Options(input="-", limits=Limits(baseline_cold_ping_ms=400.0, factor=2.0), atlas_max_pct=None)
    assert resolved(Options(input="-", limits=Limits(baseline_cold_ping_ms=100.0))).limits.baseline_cold_ping_ms == 100.0
    monkeypatch.delenv("BASELINE_COLD_PING_MS")
    assert resolved(asked).limits.threshold_ms is None  # no baseline: no latency stop


def test_the_api_asks_only_for_counted_rows_unless_the_patterns_are_custom() -> None:
    default = api_filters(Options(from_api=True, script="bot"))
    custom = api_filters(Options(from_api=True, script="bot", mongo_error_pattern="pool gone"))
    assert default[1:] == [soak_filter()] and len(default) == 2
    assert custom == default[:1]


def test_options_hold_one_limits_and_repeat_none_of_its_fields() -> None:
    import dataclasses

    option_fields = {f.name for f in dataclasses.fields(Options)}
    limit_fields = {f.name for f in dataclasses.fields(Limits)}
    assert option_fields & limit_fields == set()
    assert isinstance(Options().limits, Limits) and "limits" in option_fields
    assert {"baseline_cold_ping_ms", "factor", "gate_cmd", "min_cold_samples", "stop_hours"} <= limit_fields
