"""The one rule for every credentialed client: https, or plain http only to loopback; decided
from the URL alone, before any name is looked up."""
from __future__ import annotations

import socket

import pytest

from cutover.core.endpoint import is_loopback, require_private_channel
from cutover.errors import ConfigError, UsageError


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True), ("LOCALHOST", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
        ("api.cloudflare.com", False), ("localhost.example.com", False), ("127.0.0.1.nip.io", False),
        ("10.0.0.1", False), ("0.0.0.0", False), ("::", False), ("", False), ("api.invalid", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    "url",
    ["https://api.cloudflare.com/client/v4", "https://api.invalid", "http://127.0.0.1:8787/client/v4",
     "http://localhost/x", "http://[::1]:9/x", "HTTPS://API.EXAMPLE.COM"],
)
def test_allowed(url: str) -> None:
    require_private_channel(url, "CLOUDFLARE_API_BASE_URL")


@pytest.mark.parametrize(
    "url",
    ["http://api.cloudflare.invalid/client/v4", "http://10.0.0.5:8080", "HTTP://Api.Invalid/x",
     "http://127.0.0.1.nip.io/x", "ftp://api.invalid/x", "api.cloudflare.com/client/v4", "http:///x"],
)
def test_refused_with_what_to_fix(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        require_private_channel(url, "CLOUDFLARE_API_BASE_URL")
    message = str(info.value)
    assert message.startswith("CLOUDFLARE_API_BASE_URL") and "https://" in message
    assert "\n" not in message


def test_error_class_can_be_chosen() -> None:
    with pytest.raises(UsageError):
        require_private_channel("http://bot.invalid/webhook", "--url", error=UsageError)


def test_userinfo_in_the_url_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        require_private_channel("http://user:pa55-w0rd-xyz@api.invalid/x", "X")
    assert "pa55-w0rd-xyz" not in str(info.value)


def test_decided_without_a_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"DNS lookup attempted: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(socket, "gethostbyname", no_dns)
    with pytest.raises(ConfigError):
        require_private_channel("http://api.cloudflare.invalid/client/v4", "X")
    require_private_channel("http://localhost:1/x", "X")
