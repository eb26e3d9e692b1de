from __future__ import annotations

import pytest

from cutover.core import redact


def test_url_secret_params_and_userinfo_are_masked():
    url = "https://user:hunter2pw@api.example.com/v1?token=abc123xyz&page=3&api-key=K9&sig=zz"
    shown = redact.redact_url(url)
    for secret in ("hunter2pw", "abc123xyz", "K9", "zz", "user:"):
        assert secret not in shown
    assert "page=3" in shown and "api.example.com/v1" in shown


def test_headers_masked_by_name():
    shown = redact.redact_headers({"Authorization": "Bearer abcdefghijk", "api-key": "x" * 10, "Accept": "a/b"})
    assert shown == {"Authorization": "***", "api-key": "***", "Accept": "a/b"}


@pytest.mark.parametrize(
    "text",
    [
        "connect mongodb+srv://bot:p%40ss-w0rd@cluster0.example.net/db failed",
        "header was Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
    ],
)
def test_scrub_masks_uri_passwords_and_bearer_tokens(text):
    out = redact.scrub(text)
    assert "p%40ss-w0rd" not in out and "eyJhbGciOiJIUzI1NiJ9" not in out


def test_registered_env_secrets_are_scrubbed_anywhere():
    redact.register_env_secrets({"CLOUDFLARE_API_TOKEN": "cf-Zq81-very-secret", "MONGODB_URI": "mongodb://a:pw-1234@h/x"})
    assert redact.scrub("oops cf-Zq81-very-secret and pw-1234") == "oops *** and ***"


def test_short_values_are_not_registered():
    redact.register_secret("ab")
    assert redact.scrub("abc lab") == "abc lab"
