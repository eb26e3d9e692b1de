"""The exact-match rule and the wrangler argv, as (input, expected) tables plus a property."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cutover.guard.target import d1_target, kv_namespace_target, typed_matches, wrangler_argv


@pytest.mark.parametrize(
    ("line", "expected", "ok"),
    [
        ("trading\n", "trading", True),
        ("trading", "trading", False),  # Ctrl-D twice after the name: EOF, not Enter
        ("Trading\n", "trading", False),
        ("trading \n", "trading", False),
        (" trading\n", "trading", False),
        ("trading\r\n", "trading", False),  # only the newline is removed
        ("trading\n\n", "trading", False),
        ("\n", "trading", False),
        ("", "trading", False),
        ("tradıng\n", "trading", False),  # dotless i
        ("ＴＲＡＤＩＮＧ\n".lower(), "trading", False),  # full-width
    ],
)
def test_typed_matches_table(line: str, expected: str, ok: bool) -> None:
    assert typed_matches(line, expected) is ok


@given(expected=st.text(min_size=1).filter(lambda s: "\n" not in s), typed=st.text())
def test_only_the_exact_text_matches(expected: str, typed: str) -> None:
    assert typed_matches(typed, expected) == (typed == expected + "\n")


def test_wrangler_argv_per_target() -> None:
    assert wrangler_argv(["wrangler"], d1_target("trading")) == ["wrangler", "d1", "delete", "trading", "-y"]
    assert wrangler_argv(["npx", "wrangler"], kv_namespace_target("abc", None)) == [
        "npx", "wrangler", "kv", "namespace", "delete", "--namespace-id", "abc", "-y"]
    assert wrangler_argv(["wrangler"], kv_namespace_target(None, "SESSIONS", preview=True)) == [
        "wrangler", "kv", "namespace", "delete", "--binding", "SESSIONS", "--preview", "-y"]
    assert kv_namespace_target(None, "SESSIONS").confirm_text == "SESSIONS"
