"""delete-guard internals: what is deleted, the typed confirmation, details, backup and audit."""
from __future__ import annotations


def isatty(stream: object) -> bool:
    """stream.isatty(), False for None, closed or replaced streams."""
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False
