"""Connection-string parsing: forms, options, errors that never quote the password."""
from __future__ import annotations

import pytest

from cutover.core.redact import scrub
from cutover.errors import ConfigError
from cutover.mongo.native.uri import parse


@pytest.mark.parametrize(
    "uri, hosts, user, database, options",
    [
        ("mongodb://localhost", [("localhost", 27017)], None, "", {}),
        ("mongodb://h1:27018,H2/bot", [("h1", 27018), ("h2", 27017)], None, "bot", {}),
        ("mongodb://u%40x:p%3Aw@[::1]:27019/?authSource=admin", [("::1", 27019)], "u@x", "", {"authSource": "admin"}),
        ("mongodb://u:pw@h/?READPREFERENCE=secondaryPreferred&replicaset=rs0", [("h", 27017)], "u", "",
         {"readPreference": "secondaryPreferred", "replicaSet": "rs0"}),
        ("mongodb+srv://u:pw@cluster0.abcde.mongodb.net/bot?retryWrites=true&w=majority", [("cluster0.abcde.mongodb.net", 27017)],
         "u", "bot", {"retryWrites": "true", "w": "majority"}),
    ],
)
def test_forms(uri: str, hosts: list, user: str | None, database: str, options: dict) -> None:
    parsed = parse(uri)
    assert (parsed.hosts, parsed.username, parsed.database, parsed.options) == (hosts, user, database, options)


def test_defaults_tls_and_auth_source() -> None:
    srv = parse("mongodb+srv://u:pw@cluster0.example.net/bot")
    assert srv.tls and srv.auth_source == "bot" and srv.read_preference == "primary"
    assert not parse("mongodb://h").tls
    assert parse("mongodb://h/?ssl=true").tls
    assert not parse("mongodb+srv://cluster0.example.net/?tls=false").tls
    assert parse("mongodb://h/").auth_source == "admin"


def test_password_is_registered_and_never_shown() -> None:
    parsed = parse("mongodb://reader:Sup3r%2Fsecret@h/bot")
    assert parsed.password == "Sup3r/secret"
    assert "Sup3r" not in repr(parsed) and "Sup3r" not in parsed.display
    assert scrub("error: Sup3r/secret and Sup3r%2Fsecret") == "error: *** and ***"


@pytest.mark.parametrize(
    "uri, message",
    [
        ("http://h", "must start with"),
        ("mongodb://", "no host"),
        ("mongodb://u:p@ss@h", "percent-encoded"),
        ("mongodb://h:99999", "invalid port"),
        ("mongodb+srv://a.b.c:27017", "no port"),
        ("mongodb+srv://a.b.c,d.b.c", "exactly one host"),
        ("mongodb://h/?readPreference=fastest", "readPreference"),
        ("mongodb://h/?authMechanism=GSSAPI", "only SCRAM"),
        ("mongodb://user@h", "no password"),
        ("mongodb://h/?tls=maybe", "true or false"),
        ("mongodb://h/?tlsCertificateKeyFile=x.pem", "not supported"),
    ],
)
def test_errors(uri: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parsed = parse(uri)
        _ = parsed.tls
    assert "p@ss" not in str(info.value)


def test_unknown_options_are_reported_not_fatal() -> None:
    assert parse("mongodb://h/?frobnicate=1&appName=x").ignored == ["frobnicate"]
