"""Pure comparison of what Mongo says a target should hold against what the target holds."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Union

KVValue = Union[str, bytes]
MAX_EXAMPLES = 5


class _NotJson:
    def __repr__(self) -> str:
        return "<not JSON>"


NOT_JSON: Any = _NotJson()


@dataclass(frozen=True)
class KVEntry:
    """One key as stored: value, absolute expiry (epoch seconds) or None, metadata or None.

    `as_json`: for an expected entry whose value is JSON, the value as plain Python
    (built from the Mongo document, not from the writer's text); the stored text must parse
    to the same value, types included."""

    value: KVValue
    expiration: float | None = None
    metadata: Any = None
    as_json: Any = NOT_JSON


@dataclass
class Diff:
    key: str
    field: str
    expected: Any
    actual: Any

    def line(self) -> str:
        return f"{self.key}: {self.field}: expected {_short(self.expected)}, got {_short(self.actual)}"


@dataclass
class Report:
    """Counts per outcome plus the first few differences, field by field."""

    equal: int = 0
    missing: int = 0
    extra: int = 0
    different: int = 0
    resurrected: int = 0
    ttl_drift: int = 0
    # expired in Mongo and still in KV only within the 60 s minimum / tolerance, or expired
    # before the target was read: neither is a difference
    expiring: int = 0
    unread: int = 0  # documents Mongo counts that its scan did not return: the proof has a gap
    examples: list[Diff] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.different or self.resurrected or self.unread)

    def note(self, diff: Diff) -> None:
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(diff)

    def tally(self, problems: list[Diff]) -> None:
        """One compared item: equal, or different with its problems noted."""
        if problems:
            self.different += 1
            for problem in problems:
                self.note(problem)
        else:
            self.equal += 1

    def counts(self, kv: bool = True) -> dict[str, int]:
        out = {"equal": self.equal, "missing": self.missing, "extra": self.extra, "different": self.different}
        if self.unread:
            out["unread_in_mongo"] = self.unread
        if kv:
            out.update(resurrected=self.resurrected, ttl_drift=self.ttl_drift)
        return out


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: KVValue) -> Any:
    """Strict JSON (no NaN/Infinity), or NOT_JSON."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, TypeError, RecursionError):
        return NOT_JSON


def same_json(expected: Any, actual: Any) -> bool:
    """Equal as a Worker's JSON.parse would see them: a bool is never a number, `1` and `1.0`
    are the same number (integers exactly, otherwise as doubles), object key order is free."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is bool and type(actual) is bool and expected == actual
    if isinstance(expected, (int, float)) or isinstance(actual, (int, float)):
        if not (isinstance(expected, (int, float)) and isinstance(actual, (int, float))):
            return False
        if isinstance(expected, int) and isinstance(actual, int):
            return expected == actual  # Int64 digits are written exactly
        try:  # a double on either side: the same double is the same number (1e21 == 1000000000000000000000)
            return math.isfinite(float(expected)) and float(expected) == float(actual)
        except OverflowError:
            return False
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, str) or isinstance(actual, str):
        return isinstance(expected, str) and isinstance(actual, str) and expected == actual
    if isinstance(expected, list) or isinstance(actual, list):
        return (isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual)
                and all(same_json(e, a) for e, a in zip(expected, actual)))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(same_json(expected[k], actual[k]) for k in expected)
    return False


def values_equal(expected: KVValue, actual: KVValue, as_json: Any = NOT_JSON) -> bool:
    """With `as_json`: the stored text parses to that value (types included). Without: exact
    bytes, or the same JSON document spelled differently."""
    if as_json is not NOT_JSON:
        if isinstance(actual, bytes):
            try:
                actual = actual.decode("utf-8")
            except UnicodeDecodeError:
                return False
        parsed = parse_json(actual)
        return parsed is not NOT_JSON and same_json(as_json, parsed)
    if expected == actual:
        return True
    if isinstance(expected, bytes) or isinstance(actual, bytes):
        e = expected if isinstance(expected, bytes) else expected.encode("utf-8")
        a = actual if isinstance(actual, bytes) else actual.encode("utf-8")
        return e == a
    want, got = parse_json(expected), parse_json(actual)
    return want is not NOT_JSON and got is not NOT_JSON and same_json(want, got)


def _metadata(value: Any) -> Any:
    """No metadata and an empty object read alike in a Worker (`metadata ?? {}`)."""
    return None if value is None or value == {} else value


def compare_kv(
    expected: Mapping[str, KVEntry],
    expired_in_source: Mapping[str, float],
    actual: Mapping[str, KVEntry],
    ttl_tolerance: float = 300.0,
    read_at: float | None = None,
) -> Report:
    """`expired_in_source` maps keys whose Mongo document had already expired to that expiry.
    `read_at`: when the target was read (epoch seconds); a key whose expiry had passed by then
    is judged expired, not missing — KV drops keys at their expiry, whenever verify started."""
    report = Report()
    for key, want in expected.items():
        got = actual.get(key)
        if got is None:
            if read_at is not None and want.expiration is not None and want.expiration <= read_at:
                report.expiring += 1
                continue
            report.missing += 1
            report.note(Diff(key, "key", "present", "missing"))
            continue
        problems = []
        if not values_equal(want.value, got.value, want.as_json):
            problems.append(Diff(key, "value", want.value, got.value))
        if not same_json(_metadata(want.metadata), _metadata(got.metadata)):
            problems.append(Diff(key, "metadata", want.metadata, got.metadata))
        if (want.expiration is None) != (got.expiration is None):
            problems.append(Diff(key, "expiration", want.expiration, got.expiration))
        elif (
            want.expiration is not None
            and got.expiration is not None
            and abs(want.expiration - got.expiration) > ttl_tolerance
        ):
            report.ttl_drift += 1
            problems.append(Diff(key, "expiration", want.expiration, got.expiration))
        report.tally(problems)
    for key, got in actual.items():
        if key in expected:
            continue
        if key in expired_in_source:
            died = expired_in_source[key]
            # KV's 60 s minimum TTL lets a key outlive its document briefly; that is not a
            # resurrection. No expiry, or one well past the document's, is.
            if got.expiration is not None and got.expiration <= died + max(60.0, ttl_tolerance):
                report.expiring += 1
            else:
                report.resurrected += 1
                report.note(Diff(key, "expired in Mongo", f"gone since {died:.0f}", got.expiration or "no expiry"))
        else:
            report.extra += 1
            report.note(Diff(key, "key", "absent", "present"))
    return report


Row = Dict[str, Any]


def cells_equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        return expected == actual or (math.isnan(expected) and math.isnan(float(actual)))
    if isinstance(expected, bool):
        return int(expected) == actual
    return bool(expected == actual)


def compare_rows(expected: Mapping[Any, Row], actual: Mapping[Any, Row]) -> Report:
    """Rows keyed by id; every expected column is compared, extra columns in the target are ignored."""
    report = Report()
    for row_id, want in expected.items():
        got = actual.get(row_id)
        if got is None:
            report.missing += 1
            report.note(Diff(str(row_id), "row", "present", "missing"))
            continue
        problems = [Diff(str(row_id), col, val, got.get(col)) for col, val in want.items() if not cells_equal(val, got.get(col))]
        report.tally(problems)
    for row_id in actual:
        if row_id not in expected:
            report.extra += 1
            report.note(Diff(str(row_id), "row", "absent", "present"))
    return report
