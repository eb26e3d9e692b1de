"""Synthetic Telegram Updates: distinct, realistic, and from user ids no real account can have.

Telegram documents user and chat ids as having "at most 52 significant bits", and assigns
them from the bottom (real ids today are below 2**34). We use the top 2**24 ids of that
52-bit space: far above any id in use, still inside the documented range (so the bot's
own validation accepts them) and exact in a JavaScript Number (<= 2**53), so the Worker
parses them like real ones. A reply the bot sends to such a chat fails with "chat not
found" at Telegram: no real person is ever messaged.
"""
from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from typing import Any, Dict

SYNTHETIC_ID_SPAN = 2**24
SYNTHETIC_ID_BASE = 2**52 - SYNTHETIC_ID_SPAN  # 4_503_599_610_593_280 .. 2**52 - 1
# Real update_ids are sequential and today below 2**31; ours start at 2**48 so a bot that
# de-duplicates by update_id never confuses a synthetic update with a real one.
UPDATE_ID_BASE = 2**48
UPDATE_ID_RUN_SPAN = 2**40

_COMMAND = re.compile(r"^/\S+")

Update = Dict[str, Any]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


def is_synthetic_user_id(value: int) -> bool:
    return SYNTHETIC_ID_BASE <= value < SYNTHETIC_ID_BASE + SYNTHETIC_ID_SPAN


def command_entity(text: str) -> dict[str, Any]:
    """The bot_command entity for the leading /command (with any @botname) of `text`."""
    match = _COMMAND.match(text)
    if match is None:
        raise ValueError(f"text must start with a /command: {text!r}")
    return {"offset": 0, "length": utf16_len(match.group(0)), "type": "bot_command"}


def validate_command(text: str) -> str | None:
    """None if `text` is a usable command message, else why not."""
    if not text.startswith("/") or not _COMMAND.match(text):
        return "must start with '/' followed by the command name, e.g. /ping"
    if any(ord(ch) < 0x20 for ch in text):
        return "must not contain control characters"
    if utf16_len(text) > 4096:
        return "is longer than Telegram's 4096-character message limit"
    return None


@dataclass
class UpdateFactory:
    """Builds update number `seq` (0-based, unique across all waves of one run)."""

    command: str
    run_offset: int  # picks this run's slice of the synthetic ranges
    clock: Any = time.time

    @classmethod
    def for_run(cls, command: str, rng: random.Random | None = None) -> UpdateFactory:
        rng = rng or random.SystemRandom()
        return cls(command, rng.randrange(UPDATE_ID_RUN_SPAN))

    def user_id(self, seq: int) -> int:
        return SYNTHETIC_ID_BASE + (self.run_offset + seq) % SYNTHETIC_ID_SPAN

    def update_id(self, seq: int) -> int:
        return UPDATE_ID_BASE + (self.run_offset + seq) % UPDATE_ID_RUN_SPAN

    def cache_token(self, seq: int) -> str:
        return f"{self.run_offset:x}-{seq}"

    def build(self, seq: int) -> Update:
        uid = self.user_id(seq)
        person = {"first_name": "Synthetic", "last_name": f"Burst {seq}"}
        return {
            "update_id": self.update_id(seq),
            "message": {
                "message_id": seq + 1,
                # No username: a made-up one could belong to a real account.
                "from": {"id": uid, "is_bot": False, **person, "language_code": "en"},
                "chat": {"id": uid, **person, "type": "private"},
                "date": int(self.clock()),
                "text": self.command,
                "entities": [command_entity(self.command)],
            },
        }
