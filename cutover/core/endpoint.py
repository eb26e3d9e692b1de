"""The one rule for every client that sends a credential: https, or plain http only to loopback.

Decided from the URL text alone, before any traffic: names are not resolved (DNS is not
trusted, and a lookup already leaks where we are going).
"""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from cutover.core import redact
from cutover.errors import ConfigError, CutoverError


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IP literals (127.0.0.0/8, ::1); names are not resolved."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_private_channel(url: str, what: str, error: type[CutoverError] = ConfigError) -> None:
    """Raise `error` unless `url` is https://, or http:// to a loopback host. `what` names the
    setting to fix (e.g. CLOUDFLARE_API_BASE_URL) and leads the one-line message."""
    try:
        parts = urlsplit(url.strip())
        scheme, host = parts.scheme.lower(), parts.hostname or ""
    except ValueError:
        scheme, host = "", ""
    if scheme == "https" and host:
        return
    if scheme == "http" and host and is_loopback(host):
        return
    if scheme == "http" and host:
        raise error(
            f"{what}: refusing plain http:// to {host}: credentials would cross the network unencrypted; "
            "use https:// (plain http is allowed only to localhost, 127.0.0.0/8 or ::1)"
        )
    raise error(f"{what}: {redact.redact_url(url)!r} is not an https:// URL (e.g. https://api.cloudflare.com/client/v4)")
