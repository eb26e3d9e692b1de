"""The Worker JavaScript shipped inside cutover (package data, read with pkgutil so it works from the zip)."""
from __future__ import annotations

# Every file `cutover worker-src` lists and exports, in the order shown.
MANIFEST: tuple[str, ...] = (
    "timing.js",
    "request-context.js",
    "fetch-entry.example.js",
    "bot-middleware.example.js",
)

# What `cutover worker-src` does with them.
ACTIONS: tuple[str, ...] = ("list", "show", "export")
