"""A Tally as JSON and back, so a long-running reader (soak-watch) resumes with what it counted."""
from __future__ import annotations

import base64
import sys
from array import array
from collections import Counter
from typing import Any, Dict

from cutover.errors import CutoverError
from cutover.soak.model import Group, Tally

FORMAT = 1
_SCALARS = ("records", "cmd_timing", "cold_unknown", "dual_write_failures", "mongo_connection_errors",
            "malformed", "unrecognized", "outside_window", "kept_without_time", "fast_records", "first_ms", "last_ms")
_COUNTERS = ("outcomes", "formats")
# Every Tally field is either saved above or rebuilt: a new field must be added here (a test checks).
HANDLED_FIELDS = frozenset(_SCALARS + _COUNTERS + ("groups", "hourly", "outcome_by_request", "unsorted_hours"))


def pack_values(values: array) -> str:
    data = array("d", values)
    if sys.byteorder == "big":
        data.byteswap()  # saved little-endian whatever the machine
    return base64.b64encode(data.tobytes()).decode("ascii")


def unpack_values(text: str) -> array:
    data = array("d")
    data.frombytes(base64.b64decode(text.encode("ascii"), validate=True))
    if sys.byteorder == "big":
        data.byteswap()
    return data


def tally_to_json(tally: Tally) -> Dict[str, Any]:
    """Settles the tally (pending samples go to their hours), then saves every figure."""
    tally.settle()
    saved: Dict[str, Any] = {"format": FORMAT}
    for name in _SCALARS:
        saved[name] = getattr(tally, name)
    for name in _COUNTERS:
        saved[name] = dict(getattr(tally, name))
    saved["outcome_by_request"] = dict(tally.outcome_by_request)
    saved["groups"] = [[cmd, cold, pack_values(group.settled)] for (cmd, cold), group in tally.groups.items()]
    saved["hourly"] = [[hour, cold, pack_values(values)] for (hour, cold), values in tally.hourly.items()]
    return saved


def tally_from_json(saved: Any, where: str = "state") -> Tally:
    """The tally `tally_to_json` saved; a damaged one is an error naming `where`, never a guess."""
    try:
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise ValueError("unknown format")
        tally = Tally()
        for name in _SCALARS:
            value = saved[name]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{name} is not a whole number")
            setattr(tally, name, value)
        for name in _COUNTERS:
            setattr(tally, name, Counter({str(k): int(v) for k, v in saved[name].items()}))
        tally.outcome_by_request = {str(k): str(v) for k, v in saved["outcome_by_request"].items()}
        for cmd, cold, packed in saved["groups"]:
            group = Group()
            group.settled = unpack_values(packed)
            tally.groups[(str(cmd), bool(cold))] = group
        for hour, cold, packed in saved["hourly"]:
            tally.hourly[(int(hour), bool(cold))] = unpack_values(packed)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CutoverError(f"{where}: saved figures are damaged ({exc}); move the file away to start over") from None
    return tally
