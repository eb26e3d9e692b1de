"""Sample data embedded in the pyz for `cutover drill` (read with pkgutil: works from the zip)."""
from __future__ import annotations

import pkgutil

SAMPLE_FILES = (
    "kv_sessions.json",
    "kv_user_prefs.json",
    "kv_rate_limits.json.gz",
    "trading_trades.json",
    "schema.sql",
    "soak-sample.ndjson.gz",
)


def sample_bytes(name: str) -> bytes:
    if name not in SAMPLE_FILES:
        raise KeyError(name)
    data = pkgutil.get_data(__name__, f"sample/{name}")
    if data is None:  # pragma: no cover - only when the package was built without its data
        raise FileNotFoundError(f"sample/{name} missing from the cutover package")
    return data
