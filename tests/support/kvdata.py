"""Generated mongoexport data for KV backfill tests and the bench, with the KV state it must
produce computed independently of the code under test (plain json.dumps on simple values)."""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Dict, NamedTuple

NAMESPACE = "ns0123456789abcdef0123456789abcd"
ACCOUNT = "0123456789abcdef0123456789abcdef"


def assert_kv_matches(kv: object, expected: Dict[str, Expected], written_by: float, namespace: str = NAMESPACE) -> None:
    """The fake's live namespace equals `expected`: values, metadata, and expirations within a
    second of expiresAt (or send time + 60 s when less was left); nothing dead ever written.
    `written_by`: wall time (s) by which every write was sent."""
    import time

    live = kv.live(namespace)  # type: ignore[attr-defined]
    now = time.time()
    assert set(kv.ever_written) <= set(expected), "a dead or invalid key was written"  # type: ignore[attr-defined]
    missing = [k for k, e in expected.items() if k not in live and (e.expires_at_ms is None or e.expires_at_ms / 1000 > now + 1)]
    assert not missing, f"{len(missing)} keys missing, e.g. {missing[:3]}"
    for key, entry in live.items():
        want = expected[key]
        assert entry.value == want.value, key
        assert entry.metadata == want.metadata, key
        if want.expires_at_ms is None:
            assert entry.expiration is None, key
        else:
            exp_s = want.expires_at_ms / 1000
            assert entry.expiration is not None, key
            # Never before Mongo's expiry (the store keeps whole seconds); after it by at most the
            # ceil's second plus the request's transit (the store counts from arrival): 1 s more.
            # When less than 60 s were left: 60 s after sending.
            assert exp_s - 1 < entry.expiration <= max(exp_s + 2, written_by + 61), (key, entry.expiration, exp_s)


class Expected(NamedTuple):
    value: bytes
    expires_at_ms: int | None
    metadata: object


def _date(ms: int) -> dict:
    return {"$date": {"$numberLong": str(ms)}}


def write_export(directory: Path, n: int, now_ms: int, seed: int = 1, collection: str = "kv_sessions",
                 with_invalid: bool = True, short_lived: bool = True) -> Dict[str, Expected]:
    """`<collection>.json` (NDJSON, canonical EJSON) with n documents; returns the live keys it must yield.

    Mix: no expiry, expiry in hours, already expired, expiring within a minute (TTL raised to
    60), JSON and string values, metadata, and (with_invalid) a few invalid keys.
    """
    rng = random.Random(seed)
    expected: Dict[str, Expected] = {}
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / f"{collection}.json", "w", encoding="utf-8") as out:
        for i in range(n):
            key = f"session:{i}:{rng.randrange(10**6)}"
            kind = i % 6
            doc: dict = {"_id": {"$oid": "%024x" % (i + 1)}, "key": key,
                         "updatedAt": _date(now_ms - (i % 48) * 3_600_000)}
            if kind in (0, 3):
                value: object = {"user": i, "state": "menu", "items": [1, 2, i % 7], "ok": True}
                text = json.dumps(value, separators=(",", ":"))
            else:
                value = f"plain-{i}-é"
                text = value
            doc["value"] = value
            exp: int | None = None
            if kind == 1:
                exp = now_ms + rng.randrange(3_600_000, 86_400_000)
            elif kind == 2:
                exp = now_ms - rng.randrange(1, 86_400_000)  # dead: must never be written
            elif kind == 4:
                # some expire within the minute (TTL raised to 60 s), the rest in ~10 minutes
                soon = short_lived and i % 4 == 0
                exp = now_ms + (rng.randrange(30_000, 50_000) if soon else 600_000 + rng.randrange(60_000))
            if exp is not None:
                doc["expiresAt"] = _date(exp)
            meta = None
            if kind == 3:
                meta = {"v": 1, "i": i}
                doc["meta"] = meta
            if with_invalid and i % 97 == 50:
                doc["key"] = "x" * 600  # over 512 bytes: reported, never sent
                kind = -1
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
            if kind != 2 and kind != -1:
                expected[key] = Expected(text.encode("utf-8"), exp, meta)
    return expected


def write_config(path: Path, export_dir: Path, namespace: str = NAMESPACE, account: str = ACCOUNT) -> Path:
    path.write_text(json.dumps({
        "mongo": {"source": f"export:{export_dir}", "database": "bot"},
        "cloudflare": {"account_id": account},
        "kv_modules": {"sessions": {"collection": "kv_sessions", "namespace_id": namespace, "key_field": "key",
                                    "value_field": "value", "expires_field": "expiresAt", "metadata_field": "meta"}},
    }))
    return path
