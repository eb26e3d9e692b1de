"""cutover: reverse-backfill, delete guard, Worker timing and soak analysis for the KV/D1 -> MongoDB cutover."""
from __future__ import annotations

__version__ = "0.1.0"
