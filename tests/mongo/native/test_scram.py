"""SCRAM client against published conversations, and SASLprep against RFC 4013's examples."""
from __future__ import annotations

import pytest

from cutover.mongo.native.scram import ScramClient, ScramError, saslprep


def test_rfc7677_scram_sha256_conversation() -> None:
    client = ScramClient("SCRAM-SHA-256", "user", "pencil", nonce="rOprNGfwEbeRWgbNEkqO")
    assert client.first() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    assert client.final(server_first) == (
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    client.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")


def test_mongodb_scram_sha1_conversation() -> None:
    # The MongoDB authentication spec's SCRAM-SHA-1 example (password hashed as user:mongo:password).
    client = ScramClient("SCRAM-SHA-1", "user", "pencil", nonce="fyko+d2lbbFgONRv9qkxdawL")
    server_first = b"r=fyko+d2lbbFgONRv9qkxdawLHo+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000"
    assert client.final(server_first) == (
        b"c=biws,r=fyko+d2lbbFgONRv9qkxdawLHo+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE,p=MC2T8BvbmWRckDw8oWl5IVghwCY="
    )
    client.verify(b"v=UMWeI25JD1yNYZRMpZ4VHvhZ9e0=")


def test_forged_server_signature_is_rejected() -> None:
    client = ScramClient("SCRAM-SHA-256", "user", "pencil", nonce="rOprNGfwEbeRWgbNEkqO")
    client.final(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    with pytest.raises(ScramError, match="does not know the password"):
        client.verify(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")


@pytest.mark.parametrize(
    "server_first, problem",
    [
        (b"r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce"),
        (b"r=abcXYZ,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000", "iterations"),
        (b"r=abcXYZ,s=!!notbase64,i=4096", "salt"),
        (b"garbage", "malformed"),
    ],
)
def test_bad_server_first_messages(server_first: bytes, problem: str) -> None:
    client = ScramClient("SCRAM-SHA-256", "user", "pencil", nonce="abc")
    with pytest.raises(ScramError, match=problem):
        client.final(server_first)


def test_username_escaping() -> None:
    assert ScramClient("SCRAM-SHA-256", "a=b,c", "x", nonce="n").first() == b"n,,n=a=3Db=2Cc,r=n"


@pytest.mark.parametrize(
    "raw, prepped",
    [("I\u00adX", "IX"), ("user", "user"), ("USER", "USER"), ("\u00aa", "a"), ("\u2168", "IX"), ("a\u00a0b", "a b"), ("", "")],
)
def test_saslprep_rfc4013_examples(raw: str, prepped: str) -> None:
    assert saslprep(raw) == prepped


@pytest.mark.parametrize("raw", ["\u0007", "\u0627\u0031", "a\ud7ffb\U000e0001"])
def test_saslprep_prohibited(raw: str) -> None:
    with pytest.raises(ScramError):
        saslprep(raw)
