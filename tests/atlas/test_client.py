"""The Atlas client against a local Admin API: Digest challenge/response, service-account
tokens, the measurement JSON, and clear errors for refused credentials."""
from __future__ import annotations

from typing import Iterator

import pytest

from cutover.atlas.auth import AtlasAuthError, DigestAuth, ServiceAccountAuth, auth_from_env
from cutover.atlas.client import AtlasClient, connections_reading, validate_group_id, validate_process_id
from cutover.core import redact
from cutover.core.http import HttpClient
from cutover.errors import ConfigError, UsageError
from tests.support.atlas_server import ACCEPT, BROKEN_TOKEN_ANSWERS, FakeAtlas, token_pieces
from tests.support.httpserver import Fault

GROUP = "5f1a2b3c4d5e6f7a8b9c0d1e"
PROCESS = "cluster0-shard-00-01.ab1cd.mongodb.net:27017"


@pytest.fixture
def atlas() -> Iterator[FakeAtlas]:
    values = iter([120.0, 180.0, 90.0, 90.0, 90.0, 90.0])
    with FakeAtlas(connections=lambda: next(values)) as fake:
        yield fake


def _http(fake: FakeAtlas) -> HttpClient:
    return HttpClient(fake.base_url, retries=0, timeout=10)


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_challenge_then_answered_directly(algorithm: str) -> None:
    values = iter([120.0, 180.0])
    with FakeAtlas(connections=lambda: next(values), algorithm=algorithm) as fake:
        client = AtlasClient(_http(fake), DigestAuth(fake.public_key, fake.private_key))
        first = client.connections(GROUP, PROCESS)
        second = client.connections(GROUP, PROCESS)
    assert fake.challenges == 1, "the second request answers the remembered challenge (nc=2)"
    assert [r.headers.get("authorization", "")[:7] for r in fake.log] == ["", "Digest ", "Digest "]
    assert (first.latest, first.peak) == (120.0, 120.0)
    assert (second.latest, second.peak) == (180.0, 180.0)
    req = fake.log[-1]
    assert req.path == f"/api/atlas/v2/groups/{GROUP}/processes/{PROCESS}/measurements"
    assert req.query_list == [("m", "CONNECTIONS"), ("granularity", "PT10S"), ("period", "PT5M")]
    assert req.headers["accept"] == ACCEPT


def test_service_account_token_fetched_once(atlas: FakeAtlas) -> None:
    http = _http(atlas)
    client = AtlasClient(http, ServiceAccountAuth(http, atlas.client_id, atlas.client_secret))
    client.connections(GROUP, PROCESS)
    client.connections(GROUP, PROCESS)
    token_calls = [r for r in atlas.log if r.path == "/api/oauth/token"]
    assert len(token_calls) == 1
    assert token_calls[0].headers["content-type"] == "application/x-www-form-urlencoded"
    token = atlas.log[-1].headers["authorization"].split(" ", 1)[1]
    assert token in atlas.tokens
    assert redact.scrub(f"x {token} y") == "x *** y", "the bearer token is registered as a secret"


def test_revoked_token_is_renewed_once(atlas: FakeAtlas) -> None:
    http = _http(atlas)
    client = AtlasClient(http, ServiceAccountAuth(http, atlas.client_id, atlas.client_secret))
    client.connections(GROUP, PROCESS)
    atlas.tokens.clear()  # revoked on the server
    assert client.connections(GROUP, PROCESS).latest == 180.0
    assert len([r for r in atlas.log if r.path == "/api/oauth/token"]) == 2


def test_wrong_private_key_is_a_clear_error(atlas: FakeAtlas) -> None:
    client = AtlasClient(_http(atlas), DigestAuth(atlas.public_key, "wrong-private-key-value"))
    with pytest.raises(AtlasAuthError) as info:
        client.connections(GROUP, PROCESS)
    message = str(info.value)
    assert "HTTP 401" in message and "ATLAS_PUBLIC_KEY/ATLAS_PRIVATE_KEY" in message
    assert "wrong-private-key-value" not in message
    assert len(atlas.log) <= 3, "bounded attempts"


def test_wrong_client_secret_is_a_clear_error(atlas: FakeAtlas) -> None:
    http = _http(atlas)
    client = AtlasClient(http, ServiceAccountAuth(http, atlas.client_id, "mdb_sa_sk_wrong"))
    with pytest.raises(AtlasAuthError, match=r"HTTP 401.*ATLAS_CLIENT_ID and ATLAS_CLIENT_SECRET"):
        client.connections(GROUP, PROCESS)


@pytest.mark.parametrize("shape", sorted(BROKEN_TOKEN_ANSWERS))
def test_broken_token_answer_never_quotes_the_token(atlas: FakeAtlas, shape: str) -> None:
    atlas.token_reply = BROKEN_TOKEN_ANSWERS[shape]
    http = _http(atlas)
    client = AtlasClient(http, ServiceAccountAuth(http, atlas.client_id, atlas.client_secret))
    with pytest.raises(AtlasAuthError) as info:
        client.connections(GROUP, PROCESS)
    message = str(info.value)
    assert atlas.issued, "the endpoint was asked"
    for token in atlas.issued:
        pieces = token_pieces(token)
        assert not any(piece in message for piece in pieces), (shape, message)
        # Whatever the tool received is registered as a secret before anything can print it.
        received = redact.scrub(BROKEN_TOKEN_ANSWERS[shape](token).body.decode())
        assert not any(piece in received for piece in pieces), (shape, received)
    assert "token endpoint" in message or "ATLAS_CLIENT_ID" in message


def test_auth_from_env_prefers_service_account(atlas: FakeAtlas, tmp_path) -> None:
    http = _http(atlas)
    secret_file = tmp_path / "sa"
    secret_file.write_text(atlas.client_secret + "\n")
    env = {"ATLAS_CLIENT_ID": atlas.client_id, "ATLAS_CLIENT_SECRET_FILE": str(secret_file),
           "ATLAS_PUBLIC_KEY": "p", "ATLAS_PRIVATE_KEY": "k" * 8}
    assert isinstance(auth_from_env(http, env), ServiceAccountAuth)
    assert isinstance(auth_from_env(http, {"ATLAS_PUBLIC_KEY": "p", "ATLAS_PRIVATE_KEY": "k" * 8}), DigestAuth)
    with pytest.raises(ConfigError, match="ATLAS_CLIENT_ID/ATLAS_CLIENT_SECRET"):
        auth_from_env(http, {})
    with pytest.raises(ConfigError, match="both"):
        auth_from_env(http, {"ATLAS_PUBLIC_KEY": "p"})


def test_reading_ignores_nulls_and_picks_peak() -> None:
    doc = {"measurements": [
        {"name": "OTHER", "dataPoints": [{"timestamp": "2026-01-01T00:00:00Z", "value": 9999}]},
        {"name": "CONNECTIONS", "units": "SCALAR", "dataPoints": [
            {"timestamp": "2026-01-01T00:00:10Z", "value": 50},
            {"timestamp": "2026-01-01T00:00:20Z", "value": 310.0},
            {"timestamp": "2026-01-01T00:00:30Z", "value": 70},
            {"timestamp": "2026-01-01T00:00:40Z", "value": None},
        ]},
    ]}
    r = connections_reading(doc)
    assert (r.latest, r.latest_at, r.peak, r.peak_at, r.points) == (70.0, "2026-01-01T00:00:30Z", 310.0, "2026-01-01T00:00:20Z", 3)
    assert connections_reading({"measurements": []}).points == 0


@pytest.mark.parametrize("bad", ["5f1a", "5F1A2B3C4D5E6F7A8B9C0D1E", "zz1a2b3c4d5e6f7a8b9c0d1e"])
def test_group_id_validated(bad: str) -> None:
    with pytest.raises(UsageError):
        validate_group_id(bad)


@pytest.mark.parametrize(("process", "ok"), [(PROCESS, True), ("10.0.0.1:27017", True), ("host", False), ("a/b:1", False)])
def test_process_id_validated(process: str, ok: bool) -> None:
    if ok:
        validate_process_id(process)
    else:
        with pytest.raises(UsageError):
            validate_process_id(process)


def test_403_names_role_and_access_list(atlas: FakeAtlas) -> None:
    body = b'{"detail":"IP address 203.0.113.7 is not allowed to access this resource.","error":403,"errorCode":"IP_ADDRESS_NOT_ON_ACCESS_LIST","parameters":[],"reason":"Forbidden"}'
    atlas.inject(Fault("status", path="/measurements$", count=5, status=403, body=body))
    client = AtlasClient(_http(atlas), DigestAuth(atlas.public_key, atlas.private_key))
    with pytest.raises(AtlasAuthError, match=r"HTTP 403: IP_ADDRESS_NOT_ON_ACCESS_LIST.*access list"):
        client.connections(GROUP, PROCESS)


def test_transient_503_is_retried(atlas: FakeAtlas) -> None:
    atlas.inject(Fault("status", path="/measurements$", count=1, status=503))
    http = HttpClient(atlas.base_url, retries=2, backoff_base=0.01, timeout=10)
    assert AtlasClient(http, DigestAuth(atlas.public_key, atlas.private_key)).connections(GROUP, PROCESS).latest == 120.0
    assert http.stats.retries == 1
