from __future__ import annotations

import io

from cutover.core.progress import Progress, format_duration


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_short_run_silent_when_not_a_tty():
    out = io.StringIO()
    with Progress("docs", total=10, stream=out) as p:
        p.update(10)
    assert out.getvalue() == ""


def test_tty_shows_count_rate_eta():
    t = [0.0]
    out = Tty()
    p = Progress("docs", total=100, stream=out, clock=lambda: t[0], interval=0)
    t[0] = 2.0
    p.update(50)
    line = out.getvalue()
    assert "50/100 (50%)" in line and "25/s" in line and "ETA 2s" in line
    p.close()
    assert out.getvalue().endswith("\n")


def test_disabled_explicitly_even_on_tty():
    out = Tty()
    Progress("x", stream=out, enabled=False).update(5)
    assert out.getvalue() == ""


def test_format_duration():
    assert [format_duration(s) for s in (0, 59, 61, 3725)] == ["0s", "59s", "1m01s", "1h02m05s"]
