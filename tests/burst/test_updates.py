from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cutover.burst.updates import (
    SYNTHETIC_ID_BASE,
    SYNTHETIC_ID_SPAN,
    UpdateFactory,
    command_entity,
    is_synthetic_user_id,
    utf16_len,
    validate_command,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ping", 5),
        ("/start payload", 6),
        ("/start@my_bot x", 13),
        ("/stats 😀😀", 6),
        ("/café now", 5),  # é is one UTF-16 unit
        ("/😀", 3),  # an astral character is two UTF-16 units
        ("/𝔘nicode arg", 9),
    ],
)
def test_bot_command_entity_length_in_utf16_units(text: str, expected: int) -> None:
    assert command_entity(text) == {"offset": 0, "length": expected, "type": "bot_command"}


def test_utf16_len() -> None:
    assert [utf16_len(s) for s in ("", "a", "é", "😀", "a😀b")] == [0, 1, 1, 2, 4]


@pytest.mark.parametrize("bad", ["ping", "", "/", " /ping", "/ping\nx"])
def test_validate_command_rejects(bad: str) -> None:
    assert validate_command(bad) is not None


def test_updates_are_distinct_realistic_and_synthetic() -> None:
    factory = UpdateFactory("/ping", run_offset=12345, clock=lambda: 1_700_000_000.9)
    updates = [factory.build(seq) for seq in range(60)]
    assert len({u["update_id"] for u in updates}) == 60
    assert len({u["message"]["message_id"] for u in updates}) == 60
    assert len({u["message"]["from"]["id"] for u in updates}) == 60
    assert len({factory.cache_token(s) for s in range(60)}) == 60
    for u in updates:
        msg = u["message"]
        assert msg["from"]["id"] == msg["chat"]["id"], "a private chat's id is the user's id"
        assert is_synthetic_user_id(msg["from"]["id"])
        assert 2**33 < msg["from"]["id"] < 2**52 <= 2**53 - 1  # above real ids, exact in JS
        assert msg["from"]["is_bot"] is False and "username" not in msg["from"]
        assert msg["chat"]["type"] == "private"
        assert msg["date"] == 1_700_000_000
        assert msg["text"] == "/ping"
        assert msg["entities"] == [{"offset": 0, "length": 5, "type": "bot_command"}]
        assert u["update_id"] > 2**31


@given(st.integers(min_value=0, max_value=2**40 - 1), st.integers(min_value=0, max_value=10_000))
def test_user_ids_stay_in_the_synthetic_range(offset: int, seq: int) -> None:
    uid = UpdateFactory("/ping", offset).user_id(seq)
    assert SYNTHETIC_ID_BASE <= uid < SYNTHETIC_ID_BASE + SYNTHETIC_ID_SPAN
    assert uid < 2**52


def test_runs_pick_different_slices() -> None:
    a = UpdateFactory.for_run("/ping", random.Random(1))
    b = UpdateFactory.for_run("/ping", random.Random(2))
    assert a.update_id(0) != b.update_id(0)
    assert a.cache_token(0) != b.cache_token(0)
