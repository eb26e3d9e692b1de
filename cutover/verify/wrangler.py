"""Running wrangler read-only for verify: one place for its invocation, errors and JSON output."""
from __future__ import annotations

import json
import subprocess
from typing import Any, Dict, List

from cutover.errors import CutoverError


def run(argv: List[str], cwd: str, env: Dict[str, str] | None, what: str) -> str:
    """wrangler's stdout; a failure is one line naming the subcommand and wrangler's last line."""
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise CutoverError(f"wrangler {what}: {argv[0]} not found (not installed, or not on PATH)") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CutoverError(f"wrangler {what}: {exc}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise CutoverError(f"wrangler {what} failed (exit {done.returncode}): {tail[0]}")
    return done.stdout


def decode_json(text: str, what: str) -> Any:
    """wrangler prints banners and 'Success!' around its JSON; take the first JSON value."""
    starts = [i for i in (text.find("["), text.find("{")) if i >= 0]
    if not starts:
        raise CutoverError(f"{what}: no JSON in wrangler's output: {text.strip()[:200]}")
    try:
        value, _ = json.JSONDecoder().raw_decode(text[min(starts):])
    except ValueError as exc:
        raise CutoverError(f"{what}: wrangler printed invalid JSON ({exc})") from None
    return value
