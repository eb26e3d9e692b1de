from __future__ import annotations

import pytest

from cutover.atlas.digest import Challenge, DigestError, DigestState, authorization, parse_challenge, response_value

# RFC 7616 section 3.9.1: the same request answered with MD5 and SHA-256.
RFC = dict(
    realm="http-auth@example.org",
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
)
CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_vectors(algorithm: str, expected: str) -> None:
    challenge = Challenge(RFC["realm"], RFC["nonce"], algorithm, ("auth",), RFC["opaque"])
    value, qop = response_value(challenge, "Mufasa", "Circle of Life", "GET", "/dir/index.html", 1, CNONCE)
    assert (value, qop) == (expected, "auth")
    header = authorization(challenge, "Mufasa", "Circle of Life", "GET", "/dir/index.html", 1, CNONCE)
    assert f'response="{expected}"' in header and "nc=00000001" in header and f'opaque="{RFC["opaque"]}"' in header
    assert header.startswith('Digest username="Mufasa", realm="http-auth@example.org"')


def test_rfc2617_vector_without_opaque_choice() -> None:
    # RFC 2617 section 3.5 example.
    challenge = Challenge("testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093", "MD5", ("auth", "auth-int"))
    value, _ = response_value(challenge, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", 1, "0a4f113b")
    assert value == "6629fae49393a05397450978507c4ef1"


def test_parse_atlas_style_challenge() -> None:
    c = parse_challenge('Digest realm="MMS Public API", domain="", nonce="abc/def+1==", algorithm=MD5, qop="auth", stale=false')
    assert c == Challenge("MMS Public API", "abc/def+1==", "MD5", ("auth",), None, False)


def test_parse_stale_sha256_sess_and_other_schemes() -> None:
    c = parse_challenge('Bearer realm="x", Digest realm="r", nonce="n", algorithm=SHA-256-sess, qop="auth,auth-int", stale=TRUE, userhash=true')
    assert c is not None and c.stale and c.userhash and c.algorithm == "SHA-256-sess" and c.qop == ("auth", "auth-int")
    assert parse_challenge('Basic realm="x"') is None
    assert parse_challenge("Digest realm=\"x\"") is None  # no nonce


def test_sess_and_legacy_forms_differ_and_unknown_algorithm_refused() -> None:
    base = Challenge("r", "n", "MD5", ("auth",))
    sess = Challenge("r", "n", "MD5-sess", ("auth",))
    legacy = Challenge("r", "n", "MD5", ())
    values = {response_value(c, "u", "p", "GET", "/", 1, "c")[0] for c in (base, sess, legacy)}
    assert len(values) == 3
    assert response_value(legacy, "u", "p", "GET", "/", 1, "c")[1] is None
    with pytest.raises(DigestError):
        response_value(Challenge("r", "n", "SHA-1", ("auth",)), "u", "p", "GET", "/", 1, "c")
    with pytest.raises(DigestError):
        response_value(Challenge("r", "n", "MD5", ("auth-int",)), "u", "p", "GET", "/", 1, "c")


def test_state_counts_nonce_uses() -> None:
    state = DigestState("u", "p", cnonce=lambda: "c")
    assert state.header("GET", "/") is None
    state.accept(Challenge("r", "n", "MD5", ("auth",)))
    assert "nc=00000001" in (state.header("GET", "/") or "")
    assert "nc=00000002" in (state.header("GET", "/") or "")
    state.accept(Challenge("r", "n2", "MD5", ("auth",)))
    assert "nc=00000001" in (state.header("GET", "/") or "")
