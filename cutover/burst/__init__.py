"""Synthetic burst: Telegram updates, a barrier-released wave of requests, and its report."""
from __future__ import annotations
