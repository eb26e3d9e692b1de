"""The counting rules applied record by record: what counts once, what is malformed, the window."""
from __future__ import annotations

import math

from cutover.soak.model import Entry, Patterns, Record, Tally
from cutover.soak.rules import Counter, as_event, as_int_ms

T0 = 1_795_802_400_000


def counter(since: int | None = None, until: int | None = None, patterns: Patterns | None = None) -> Counter:
    return Counter(Tally(), patterns or Patterns(), since, until)


def timing(cmd: object = "/start", ms: object = 120.0, cold: object = True) -> dict:
    return {"event": "cmd_timing", "cmd": cmd, "durationMs": ms, "cold": cold}


def record(*items: object, ts: int | None = T0, outcome: str | None = None, request_id: str | None = None) -> Record:
    return Record("test", ts, outcome, request_id, [Entry(list(items), None)])


def test_as_event_reads_objects_and_json_strings_and_leaves_text() -> None:
    assert as_event({"event": "x", "a": 1}) == ({"event": "x", "a": 1}, None)
    assert as_event(' {"event":"cmd_timing","cmd":"/a"}') == ({"event": "cmd_timing", "cmd": "/a"}, None)
    assert as_event('{"not":"an event"}') == (None, '{"not":"an event"}')
    assert as_event("{broken") == (None, "{broken")
    assert as_event({"no": "event"}) == (None, '{"no":"event"}')
    assert as_event(None) == (None, None)
    assert as_event(42) == (None, "42")


def test_a_message_nested_too_deep_to_decode_is_text_not_a_crash() -> None:
    deep = '{"event":' * 5000 + '"x"' + "}" * 5000
    assert as_event(deep) == (None, deep)


def test_as_int_ms_takes_numbers_and_digit_strings_only() -> None:
    assert as_int_ms(T0) == T0 and as_int_ms(float(T0) + 0.9) == T0 and as_int_ms(f" {T0} ") == T0
    for bad in (True, False, None, "2026-11-27", math.nan, math.inf, 1 << 60, "9" * 25, [T0]):
        assert as_int_ms(bad) is None, bad


def test_timing_groups_by_command_and_coldness_and_counts_unknown_coldness_as_warm() -> None:
    c = counter()
    c.record(record(timing("/start", 100.0, True), timing("/start", 50.0, "yes"), timing("/help", 5, False)))
    tally = c.tally
    assert tally.cmd_timing == 3 and tally.cold_unknown == 1 and tally.malformed == 0
    assert sorted((k, list(g.values)) for k, g in tally.groups.items()) == [
        (("/help", False), [5.0]), (("/start", False), [50.0]), (("/start", True), [100.0])]


def test_a_timing_without_command_or_finite_duration_is_malformed() -> None:
    c = counter()
    c.record(record(timing(None), timing("/a", "120"), timing("/a", math.nan), timing("/a", True)))
    assert (c.tally.cmd_timing, c.tally.malformed) == (0, 4)


def test_a_failure_counts_once_per_log_call_however_often_it_is_said() -> None:
    c = counter()
    c.record(record("dual write failed", {"event": "dual_write_secondary_failure"}, "dual-write error again"))
    c.record(record("MongoNetworkError: reset", "MongoServerSelectionError: x", {"event": "mongo_connection_error"}))
    c.record(record("all fine", "mongo is slow"))
    assert (c.tally.dual_write_failures, c.tally.mongo_connection_errors) == (1, 1)


def test_custom_patterns_replace_the_defaults() -> None:
    c = counter(patterns=Patterns(dual_write="SECONDARY DOWN", mongo_error="pool gone"))
    c.record(record("dual write failed", "SECONDARY DOWN", "MongoNetworkError", "pool gone"))
    assert (c.tally.dual_write_failures, c.tally.mongo_connection_errors) == (1, 1)


def test_an_outcome_counts_once_per_request_and_ok_not_at_all() -> None:
    c = counter()
    for _ in range(3):  # three rows of one invocation
        c.record(record("x", outcome="exceededCpu", request_id="r1"))
    c.record(record("y", outcome="exceededCpu"))
    c.record(record("z", outcome="ok", request_id="r2"))
    assert c.tally.outcome_counts() == {"exceededCpu": 2}
    assert c.tally.records == 5


def test_the_window_skips_outside_events_and_keeps_untimed_ones_counted() -> None:
    c = counter(since=T0, until=T0 + 1000)
    c.record(record(timing(), ts=T0 - 1))
    c.record(record(timing(), ts=T0))
    c.record(record(timing(), ts=T0 + 999))
    c.record(record(timing(), ts=T0 + 1000))  # until is exclusive
    c.record(record(timing(), ts=None))
    tally = c.tally
    assert (tally.cmd_timing, tally.outside_window, tally.kept_without_time) == (3, 2, 1)
    assert (tally.first_ms, tally.last_ms) == (T0, T0 + 999)


def test_without_a_window_nothing_is_skipped_or_flagged() -> None:
    c = counter()
    c.record(record(timing(), ts=None))
    c.record(record(timing(), ts=1))
    assert (c.tally.cmd_timing, c.tally.outside_window, c.tally.kept_without_time) == (2, 0, 0)
