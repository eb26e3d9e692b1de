"""Logpush workers_trace_events files as delivered to R2/S3, for tests."""
from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List


def stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def trace_event(ts: int, message: Any, script: str = "bot", outcome: str = "ok", ray: str = "") -> Dict[str, Any]:
    text = json.dumps(message) if isinstance(message, dict) else str(message)
    return {
        "CPUTimeMs": 2, "DispatchNamespace": "", "Entrypoint": "",
        "Event": {"RayID": ray or f"ray{ts}", "Request": {"Method": "POST", "URL": "https://bot.example/webhook"},
                  "Response": {"Status": 200}},
        "EventTimestampMs": ts, "EventType": "fetch", "Exceptions": [],
        "Logs": [{"Level": "log", "Message": [text], "TimestampMs": ts + 1}],
        "Outcome": outcome, "ScriptName": script, "ScriptTags": [], "WallTimeMs": 30,
    }


def write_batch(directory: Path, start_ms: int, end_ms: int, rows: List[Dict[str, Any]], tag: str = "a1b2c3d4") -> Path:
    day = directory / stamp(start_ms)[:8]
    day.mkdir(parents=True, exist_ok=True)
    path = day / f"{stamp(start_ms)}_{stamp(end_ms)}_{tag}.log.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    return path
