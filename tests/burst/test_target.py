from __future__ import annotations

import pytest

from cutover.burst.target import parse_target
from cutover.core import redact
from cutover.core.endpoint import is_loopback
from cutover.errors import UsageError


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.8.9.10", "::1", "LOCALHOST"])
def test_loopback(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["example.com", "10.0.0.1", "localhost.example.com", "127.0.0.1.nip.io", "0.0.0.0"])
def test_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_https_any_host_and_cache_buster() -> None:
    t = parse_target("https://bot.example.workers.dev/webhook?x=1#frag")
    assert (t.scheme, t.host, t.port) == ("https", "bot.example.workers.dev", 443)
    assert t.path_with_token("ab-1") == "/webhook?x=1&_cb=ab-1"
    assert parse_target("http://127.0.0.1:8787").path_with_token("z") == "/?_cb=z"
    assert parse_target("http://[::1]:8787/h").port == 8787


@pytest.mark.parametrize(
    "url",
    ["http://bot.example.workers.dev/webhook", "http://10.1.2.3/hook", "ftp://x/y", "bot.example.dev/webhook",
     "https://user:pw@bot.example.dev/", "https://bot.example.dev:99999/"],
)
def test_refused(url: str) -> None:
    with pytest.raises(UsageError):
        parse_target(url)


def test_bot_token_in_path_is_never_shown() -> None:
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"
    t = parse_target(f"https://bot.example.dev/bot{token}/hook")
    assert token not in t.shown
    assert token not in redact.scrub(f"error talking to https://bot.example.dev/bot{token}/hook")
