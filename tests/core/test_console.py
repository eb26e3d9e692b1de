"""core/console: what each kind of message does under -q and -v, and through a progress line."""
from __future__ import annotations

import io

from cutover.core.console import Console
from cutover.core.progress import Progress


def lines(console: Console) -> list:
    return console.stream.getvalue().splitlines()  # type: ignore[attr-defined]


def test_quiet_keeps_warnings_and_verdicts_only() -> None:
    c = Console(quiet=True, verbose=True, stream=io.StringIO())
    c.info("note")
    c.debug("detail")
    c.item("bad document 7")
    c.warn("budget shared")
    c.always("STOP (x)")
    assert lines(c) == ["warning: budget shared", "STOP (x)"]


def test_default_and_verbose() -> None:
    c = Console(stream=io.StringIO())
    c.info("note")
    c.debug("detail")
    c.item("bad document 7")
    v = Console(verbose=True, stream=io.StringIO())
    v.debug("detail")
    assert lines(c) == ["note", "warning: bad document 7"] and lines(v) == ["detail"]


def test_a_warning_with_a_key_is_said_once() -> None:
    c = Console(stream=io.StringIO())
    for _ in range(3):
        c.warn("page short", once="short")
    assert lines(c) == ["warning: page short"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_message_clears_the_progress_line_first() -> None:
    """Not garbled: the drawn progress line is erased before the message, which gets a line of its own."""
    stream = Terminal()
    c = Console(stream=stream)
    with Progress("scan", total=10, stream=stream, clock=lambda: 100.0) as bar:
        bar.update(3)
        c.info("halfway note")
    assert "\r\x1b[Khalfway note\n" in stream.getvalue()
