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


# -- a secret is replaced where it stands as a credential, never as an ordinary word ----------

@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty set of registered values for the test (other tests register their own)."""
    monkeypatch.setattr(redact, "_values", set())


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("admin", "no suitable MongoDB server (authSource=admin, readPreference=primary) within 30s"),
        ("wrong", "Authentication failed: wrong user name or password"),
        ("primary", "no suitable MongoDB server (readPreference=primary) within 30s"),
        ("27017", "connection refused by 127.0.0.1:27017"),
        ("password", "check the user name and password"),
    ],
)
def test_short_plain_secrets_leave_ordinary_words_alone(fresh_registry: None, password: str, message: str) -> None:
    redact.register_env_secrets({"MONGODB_URI": f"mongodb://reader:{password}@127.0.0.1:27017/bot?authSource=admin"})
    assert redact.scrub(message) == message
    # ... but where it stands as a credential it is masked, whatever its length.
    shown = redact.scrub(f"dial mongodb://reader:{password}@127.0.0.1:27017/bot failed")
    assert shown == "dial mongodb://reader:***@127.0.0.1:27017/bot failed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sent Authorization: Bearer admin to h", "sent Authorization: Bearer *** to h"),
        ("header apiKey: admin", "header apiKey: ***"),
        ("X-Telegram-Bot-Api-Secret-Token: wrong, then 401", "X-Telegram-Bot-Api-Secret-Token: ***, then 401"),
        ('{"password": "admin", "user": "reader"}', '{"password": "***", "user": "reader"}'),
        ("url ...?token=admin&page=2", "url ...?token=***&page=2"),
        ('{"access_token": "eyJabc", "token_type": "Bearer"}', '{"access_token": "***", "token_type": "Bearer"}'),
    ],
)
def test_credential_positions_are_masked_whatever_the_value(fresh_registry: None, text: str, expected: str) -> None:
    assert redact.scrub(text) == expected


@pytest.mark.parametrize(
    "message",
    [
        "Atlas Digest challenge cannot be answered: unsupported algorithm",
        "Basic authentication is not supported here",
        "check ATLAS_CLIENT_ID and ATLAS_CLIENT_SECRET",
        "token_type must be Bearer",
        "Token: not set",
    ],
)
def test_words_next_to_credential_names_are_not_credentials(fresh_registry: None, message: str) -> None:
    assert redact.scrub(message) == message


def test_short_token_like_secret_masked_as_a_whole_token_only(fresh_registry: None) -> None:
    redact.register_secret("hunter2x")
    assert redact.scrub("error near hunter2x, giving up") == "error near ***, giving up"
    assert redact.scrub("pw=hunter2x&x=1") == "pw=***&x=1"
    assert redact.scrub("thehunter2xyz") == "thehunter2xyz", "not a whole token: part of another word"


def test_long_secret_masked_anywhere(fresh_registry: None) -> None:
    redact.register_secret("correcthorsebatterystaple")
    assert redact.scrub("xcorrecthorsebatterystaplex") == "x***x"
