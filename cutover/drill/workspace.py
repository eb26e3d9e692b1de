"""Lay the embedded sample data out in a work directory as an operator would have it:
a mongoexport dump, a rollback config, the D1 schema, a wrangler.toml, a soak log."""
from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
from dataclasses import dataclass
from typing import Dict

from cutover.data import SAMPLE_FILES, sample_bytes

# Sample documents carry expiry times relative to the moment of the drill ("@now+3600" in an
# ISO `$date`, "@nowms-5" for the legacy millisecond form) so "expired", "expires within the
# 60 s minimum" and "expires later" stay true whenever the drill runs.
_REL_ISO = re.compile(r'"@now([+-]\d+)"')
_REL_MS = re.compile(r"@nowms([+-]\d+)")

KV_MODULES = {
    "sessions": {"collection": "kv_sessions", "namespace_id": "d1f0c0ffee0000000000000000005e55"},
    "prefs": {"collection": "kv_user_prefs", "namespace_id": "d1f0c0ffee000000000000000000f4e5"},
    "rate_limits": {"collection": "kv_rate_limits", "namespace_id": "d1f0c0ffee0000000000000000001a7e"},
}
D1_DATABASE = "trading"
D1_DATABASE_ID = "00000000-0000-4000-8000-00000000d1d1"
BASELINE_COLD_PING_MS = 600.0


@dataclass(frozen=True)
class Workspace:
    root: str

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    @property
    def config(self) -> str:
        return self.path("rollback.json")

    @property
    def export_dir(self) -> str:
        return self.path("export")

    @property
    def soak_log(self) -> str:
        return self.path("soak", "soak-sample.ndjson.gz")

    @property
    def schema(self) -> str:
        return self.path("schema.sql")

    def kv_file(self, module: str) -> str:
        return self.path("kv", f"kv-{module}.json")

    @property
    def d1_sql(self) -> str:
        return self.path("d1", "backfill-d1.sql")


def iso(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def render_relative_times(text: str, now_s: float) -> str:
    text = _REL_ISO.sub(lambda m: json.dumps(iso(now_s + int(m.group(1)))), text)
    return _REL_MS.sub(lambda m: str(int(now_s * 1000) + int(m.group(1)) * 1000), text)


def _write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def materialize(root: str, now_s: float) -> Workspace:
    """Write the sample rollback into `root` (created if needed) with times relative to `now_s`."""
    ws = Workspace(os.path.abspath(root))
    for name in SAMPLE_FILES:
        data = sample_bytes(name)
        if name == "schema.sql":
            _write(ws.schema, data)
        elif name.startswith("soak"):
            _write(ws.soak_log, data)
        elif name.endswith(".gz"):
            text = render_relative_times(gzip.decompress(data).decode("utf-8"), now_s)
            _write(os.path.join(ws.export_dir, name), gzip.compress(text.encode("utf-8"), mtime=0))
        else:
            _write(os.path.join(ws.export_dir, name), render_relative_times(data.decode("utf-8"), now_s).encode("utf-8"))
    config: Dict[str, object] = {
        "mongo": {"source": f"export:{ws.export_dir}", "database": "bot"},
        "cloudflare": {"account_id": "drill0000000000000000000000000000"},
        "kv_modules": {
            name: {**spec, "key_field": "_id", "value_field": "value", "expires_field": "expiresAt"}
            for name, spec in KV_MODULES.items()
        },
        "d1": {"database": D1_DATABASE, "database_id": D1_DATABASE_ID, "table": "trading_trades",
               "collection": "trading_trades", "id_column": "id", "legacy_id_field": "legacy_id", "schema": ws.schema},
    }
    _write(ws.config, (json.dumps(config, indent=2) + "\n").encode("utf-8"))
    _write(ws.path("wrangler.toml"), wrangler_toml().encode("utf-8"))
    for sub in ("kv", "d1", "state", "reports"):
        os.makedirs(ws.path(sub), exist_ok=True)
    return ws


def wrangler_toml() -> str:
    lines = ['name = "cutover-drill"', 'main = "worker.js"', 'compatibility_date = "2025-01-01"', ""]
    for name, spec in KV_MODULES.items():
        lines += ["[[kv_namespaces]]", f'binding = "{name.upper()}"', f'id = "{spec["namespace_id"]}"', ""]
    lines += ["[[d1_databases]]", 'binding = "DB"', f'database_name = "{D1_DATABASE}"', f'database_id = "{D1_DATABASE_ID}"', ""]
    return "\n".join(lines)
