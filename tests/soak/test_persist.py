"""A tally saved and loaded gives the same figures; a damaged one is refused, never guessed."""
from __future__ import annotations

import dataclasses
import io
import json
import random

import pytest

from cutover.errors import CutoverError
from cutover.soak import report
from cutover.soak.analyze import Options, summarize_tally
from cutover.soak.fastpath import exact_stream
from cutover.soak.model import Patterns, Tally
from cutover.soak.persist import HANDLED_FIELDS, tally_from_json, tally_to_json
from cutover.soak.rules import Counter
from tests.support.soak_records import T0, js, logpush, ndjson, obs_row, timing


def _counted(text: str) -> Tally:
    counter = Counter(Tally(), Patterns())
    exact_stream(counter, io.BytesIO(text.encode()))
    return counter.tally


def _export(seed: int) -> str:
    rnd = random.Random(seed)
    records = []
    for i in range(300):
        ts = T0 + i * 37_000
        cold = rnd.choice([True, False, None])
        records.append(logpush([[js(timing(rnd.choice(["/start", "/ping"]), rnd.uniform(5, 900), cold))]], ts=ts,
                               outcome=rnd.choice(["ok", "ok", "exceededCpu"])))
        if i % 17 == 0:
            records.append(obs_row("MongoNetworkError: connection reset", request_id=f"r{i}", ts=ts, outcome="exceededCpu"))
            records.append(obs_row({"event": "dual_write_secondary_failure"}, request_id=f"r{i}", ts=ts + 1, outcome="exceededCpu"))
    return ndjson(records) + "not json\n"


def test_every_tally_field_is_saved_or_rebuilt() -> None:
    assert {f.name for f in dataclasses.fields(Tally)} == HANDLED_FIELDS


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_round_trip_gives_the_same_report(seed: int) -> None:
    text = _export(seed)
    options = Options(baseline_cold_ping_ms=200.0, chart=True)
    direct = report.to_json(summarize_tally(_counted(text), [], options))
    saved = json.loads(json.dumps(tally_to_json(_counted(text))))  # through real JSON text
    loaded = report.to_json(summarize_tally(tally_from_json(saved), [], options))
    assert loaded == direct
    assert direct["counts"]["mongo_connection_errors"] > 0 and direct["counts"]["cpu_time_exceeded"] > 0


def test_a_loaded_tally_goes_on_counting_like_one_that_never_stopped() -> None:
    lines = _export(4).splitlines(keepends=True)
    half = len(lines) // 2
    whole = _counted("".join(lines))
    counter = Counter(tally_from_json(tally_to_json(_counted("".join(lines[:half])))), Patterns())
    exact_stream(counter, io.BytesIO("".join(lines[half:]).encode()))
    options = Options(baseline_cold_ping_ms=200.0)
    assert report.to_json(summarize_tally(counter.tally, [], options)) == report.to_json(summarize_tally(whole, [], options))


@pytest.mark.parametrize("damage", [
    lambda s: s.pop("groups"),
    lambda s: s.update(format=99),
    lambda s: s.update(records="12"),
    lambda s: s["groups"].append(["/x", True, "not base64!"]),
])
def test_damaged_state_is_an_error(damage) -> None:  # type: ignore[no-untyped-def]
    saved = tally_to_json(_counted(_export(5)))
    damage(saved)
    with pytest.raises(CutoverError, match="damaged"):
        tally_from_json(saved, "--state x.json")
