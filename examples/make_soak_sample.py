#!/usr/bin/env python3
"""Regenerate cutover/data/sample/soak-sample.ndjson.gz: a small Logpush workers_trace_events
export of a soak, shaped like what the shipped timing.js logs. Deterministic (seeded)."""
from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "cutover" / "data" / "sample" / "soak-sample.ndjson.gz"
START_MS = 1764000000000  # 2025-11-24T16:00:00Z
COMMANDS = ("/start", "/ping", "/trade", "/balance")


def record(i: int, rng: random.Random) -> dict:
    ts = START_MS + i * 97_000
    cold = i % 11 == 0  # spread over all commands
    cmd = COMMANDS[i % len(COMMANDS)]
    duration = round(rng.uniform(700, 1350) if cold else rng.uniform(35, 240), 3)
    event = {"event": "cmd_timing", "cmd": cmd, "durationMs": duration, "cold": cold,
             "isolateAgeMs": 3 if cold else rng.randint(1000, 600000)}
    if cold:
        event["marks"] = {"mongo_connect": round(duration * 0.6, 1)}
    logs = [
        {"Level": "log", "Message": [json.dumps({"event": "request", "cold": cold, "isolateAgeMs": event["isolateAgeMs"]})], "TimestampMs": ts},
        # half of the events logged as objects' JSON strings, half as the object itself
        {"Level": "log", "Message": [json.dumps(event) if i % 2 else event], "TimestampMs": ts + int(duration)},
    ]
    exceptions = []
    outcome = "ok"
    if i == 50:
        logs.append({"Level": "error", "Message": [json.dumps({"event": "dual_write_secondary_failure", "store": "kv"})], "TimestampMs": ts + 5})
    if i == 77:
        exceptions.append({"Name": "MongoNetworkTimeoutError", "Message": "connection timed out", "TimestampMs": ts + 9})
        outcome = "exception"
    if i in (120, 121):
        outcome = "exceededCpu"
    return {
        "DispatchNamespace": "", "Entrypoint": "", "Event": {"Request": {"Method": "POST", "URL": "https://bot.example.workers.dev/webhook"}},
        "EventTimestampMs": ts, "EventType": "fetch", "Exceptions": exceptions, "Logs": logs, "Outcome": outcome,
        "ScriptName": "bot", "ScriptTags": [], "ScriptVersion": {"ID": "00000000-0000-4000-8000-000000000001"},
    }


def main() -> None:
    rng = random.Random(20251124)
    lines = [json.dumps(record(i, rng), separators=(",", ":")) for i in range(480)]
    lines.insert(200, '{"EventTimestampMs": 1764019400000, "Logs": [ {"Level": "log", "Message": ["truncated')
    with gzip.GzipFile(OUT, "wb", mtime=0) as handle:
        handle.write(("\n".join(lines) + "\n").encode())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
