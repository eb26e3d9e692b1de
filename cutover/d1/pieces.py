"""Literals this package writes, looked into: what kind, how many bytes SQLite stores, and how to
cut one into pieces whose `||` concatenation stores the same value (a value too large for one
statement is appended in pieces)."""
from __future__ import annotations

from typing import Callable, Dict, List

from cutover.d1.sql import quote_text


def literal_kind(literal: str) -> str | None:
    """'text', 'hex_text' or 'blob' for string/byte literals cutover.d1.sql writes; None otherwise."""
    if literal.startswith("'"):
        return "text"
    if literal.startswith("CAST(X'"):
        return "hex_text"
    if literal.startswith("X'"):
        return "blob"
    return None


def empty_literal(kind: str) -> str:
    return "X''" if kind == "blob" else "''"


def stored_size(literal: str) -> int:
    """Bytes the value of a literal occupies in SQLite (what D1's 2 MB limit counts)."""
    kind = literal_kind(literal)
    if kind == "text":
        inner = _unquote(literal)
        return len(inner) if inner.isascii() else len(inner.encode("utf-8", "surrogatepass"))
    if kind == "hex_text":
        return (len(literal) - len("CAST(X'' AS TEXT)")) // 2
    if kind == "blob":
        return (len(literal) - 3) // 2
    return len(literal)


def split_literal(literal: str, max_bytes: int) -> List[str]:
    """Cut a text/byte literal into literals of at most `max_bytes` (UTF-8) each whose
    concatenation (SQLite `||`, bytewise) stores the original value."""
    if max_bytes < 64:
        raise ValueError("max_bytes too small to split a literal")
    kind = literal_kind(literal)
    if kind == "text":
        return _split_text(_unquote(literal), max_bytes)
    if kind in ("hex_text", "blob"):
        hexdigits = literal[7:-10] if kind == "hex_text" else literal[2:-1]
        overhead = len("CAST(X'' AS TEXT)") if kind == "hex_text" else 3
        step = (max_bytes - overhead) // 2 * 2
        wrap: Dict[str, Callable[[str], str]] = {
            "hex_text": lambda h: "CAST(X'" + h + "' AS TEXT)",
            "blob": lambda h: "X'" + h + "'",
        }
        return [wrap[kind](hexdigits[i : i + step]) for i in range(0, len(hexdigits), step)] or [literal]
    raise ValueError(f"cannot split a non-string literal: {literal[:40]}")


def _unquote(literal: str) -> str:
    inner = literal[1:-1]
    return inner.replace("''", "'") if "'" in inner else inner


def _split_text(text: str, max_bytes: int) -> List[str]:
    budget = max_bytes - 2  # the two quotes
    pieces: List[str] = []
    start = 0
    while start < len(text):
        # Worst case 4 bytes per code point, doubled quotes 2: start optimistic, shrink to fit.
        size = min(len(text) - start, budget)
        while True:
            piece = text[start : start + size]
            if 0xD800 <= ord(piece[-1]) <= 0xDBFF and start + size < len(text) and size > 1:
                size -= 1  # never cut a surrogate pair in half
                continue
            rendered = quote_text(piece)
            length = len(rendered.encode("utf-8", "surrogatepass"))
            if length <= max_bytes:
                break
            size = max(1, min(size - 1, size * budget // (length + 1)))
        pieces.append(rendered)
        start += size
    return pieces or ["''"]
