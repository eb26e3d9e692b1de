"""Records in each vendor shape, built the way the exporters write them (for the log reader tests)."""
from __future__ import annotations

import json
from typing import Any, Dict, List

T0 = 1764288000000  # 2025-11-28T00:00:00Z


def timing(cmd: str = "/start", ms: float = 123.456, cold: bool | None = True, age: int = 17, **extra: Any) -> Dict[str, Any]:
    """The object timing.js logs (key order as timing.js builds it: extras, event, cmd, durationMs, cold, ...)."""
    event: Dict[str, Any] = dict(extra)
    event.update({"event": "cmd_timing", "cmd": cmd, "durationMs": ms})
    if cold is not None:
        event["cold"] = cold
    event["isolateAgeMs"] = age
    event["marks"] = {"mongo_connect": round(ms * 0.6, 3)}
    return event


def js(obj: Any) -> str:
    """JSON.stringify(obj): compact, non-ASCII kept."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def logpush(messages: List[List[Any]], outcome: str = "ok", ts: int = T0, exceptions: List[Dict[str, Any]] | None = None) -> Dict[str, Any]:
    """A workers_trace_events record; each inner list is one console.log call's arguments."""
    return {
        "CPUTimeMs": 3, "DispatchNamespace": "", "Entrypoint": "",
        "Event": {"RayID": "8f1c2b3a4d5e6f70", "Request": {"Method": "POST", "URL": "https://bot.example.workers.dev/tg"}},
        "EventTimestampMs": ts, "EventType": "fetch", "Exceptions": exceptions or [],
        "Logs": [{"Level": "log", "Message": items, "TimestampMs": ts + i} for i, items in enumerate(messages)],
        "Outcome": outcome, "ScriptName": "bot", "ScriptTags": [], "ScriptVersion": {"Id": "v1"}, "WallTimeMs": 130,
    }


def tail(messages: List[List[Any]], outcome: str = "ok", ts: int = T0, exceptions: List[Dict[str, Any]] | None = None) -> Dict[str, Any]:
    """A `wrangler tail` event message (what the tail websocket sends, printed by --format json)."""
    return {
        "outcome": outcome, "scriptName": "bot", "diagnosticsChannelEvents": [],
        "exceptions": exceptions or [],
        "logs": [{"message": items, "level": "log", "timestamp": ts + i} for i, items in enumerate(messages)],
        "eventTimestamp": ts,
        "event": {"request": {"url": "https://bot.example.workers.dev/tg", "method": "POST", "headers": {}, "cf": {}}},
    }


def obs_row(source: Any, outcome: str = "ok", request_id: str = "req-1", ts: int = T0, message: str | None = None,
            error: str | None = None) -> Dict[str, Any]:
    """A Workers Observability telemetry query row (events view)."""
    meta: Dict[str, Any] = {"id": f"{request_id}-{ts}", "requestId": request_id, "service": "bot", "level": "log", "type": "cf-worker",
                            "message": message if message is not None else (source if isinstance(source, str) else js(source))}
    if error:
        meta["error"] = error
    return {"$metadata": meta, "$workers": {"requestId": request_id, "outcome": outcome, "scriptName": "bot", "eventType": "fetch"},
            "dataset": "cloudflare-workers", "source": source, "timestamp": ts}


def ndjson(records: List[Any]) -> str:
    return "".join(js(r) + "\n" for r in records)


SOAK_T0 = 1_795_802_400_000  # 2026-11-27T18:00:00Z, the start of the soak-watch tests' soak


def tail_events(hours: int, slow: set, per_hour: int = 40, start: int = SOAK_T0, seed: int = 1) -> List[Dict[str, Any]]:
    """`wrangler tail` events of a soak: `per_hour` cmd_timing an hour (every other one cold, /start
    or /ping, 100-400 ms), cold ones 8 x slower in the hours of `slow`."""
    import random

    from cutover.soak.model import HOUR_MS

    rnd = random.Random(seed)
    events = []
    for h in range(hours):
        for i in range(per_hour):
            cold = i % 2 == 0
            ms = rnd.uniform(100, 400) * (8 if h in slow and cold else 1)
            events.append(tail([[json.dumps(timing(rnd.choice(["/start", "/ping"]), ms, cold))]],
                               ts=start + h * HOUR_MS + i * (HOUR_MS // per_hour)))
    return events


def tail_format_json(events: List[Dict[str, Any]]) -> bytes:
    """What `wrangler tail --format json` prints: JSON.stringify(event, null, 2) one after another."""
    return "".join(json.dumps(e, indent=2) + "\n" for e in events).encode()
