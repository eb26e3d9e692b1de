from __future__ import annotations

from typing import Iterator

import pytest
from bson.datetime_ms import DatetimeMS
from bson.objectid import ObjectId

from tests.support.mongo_server import MongoTestServer, ScramUser, make_certificate

PASSWORD = "s3cret-p@ss:w/rd"
SASL_PASSWORD = "IX\u00adpass\u2168"  # soft hyphen (mapped to nothing) and ROMAN NUMERAL NINE (NFKC -> "IX")


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """A trusted certificate (localhost, 127.0.0.1, *.cluster.example.test) and an unrelated one."""
    good = tmp_path_factory.mktemp("cert-good")
    other = tmp_path_factory.mktemp("cert-other")
    return {
        "good": make_certificate(str(good), ("localhost", "*.cluster.example.test"), ("127.0.0.1",)),
        "other": make_certificate(str(other), ("localhost",), ("127.0.0.1",)),
    }


def sample_documents(n: int) -> list[dict]:
    """Documents with ObjectId _ids in insertion order plus mixed-type _ids (numbers, strings)."""
    docs: list[dict] = []
    for i in range(n):
        oid = ObjectId(bytes.fromhex(f"{0x65000000 + i:08x}") + bytes(8))
        docs.append({"_id": oid, "n": i, "name": f"user-{i}", "updatedAt": DatetimeMS(1_700_000_000_000 + i * 1000)})
    docs.append({"_id": 7, "n": -1, "name": "numeric id", "updatedAt": DatetimeMS(0)})
    docs.append({"_id": "session:abc", "n": -2, "name": "string id", "updatedAt": DatetimeMS(1_800_000_000_000)})
    return docs


@pytest.fixture
def server(certs: dict[str, tuple[str, str]]) -> Iterator[MongoTestServer]:
    users = [ScramUser.create("reader", PASSWORD), ScramUser.create("prepped", SASL_PASSWORD)]
    with MongoTestServer(users=users, data={"bot": {"users": sample_documents(25)}}, tls=certs["good"]) as srv:
        yield srv


def uri_for(server: MongoTestServer, ca_file: str, user: str = "reader", password: str = PASSWORD, extra: str = "") -> str:
    from urllib.parse import quote

    return f"mongodb://{quote(user, safe='')}:{quote(password, safe='')}@{server.address}/bot?authSource=admin&tls=true&tlsCAFile={quote(ca_file)}{extra}"


@pytest.fixture
def ca_file(certs: dict[str, tuple[str, str]]) -> str:
    return certs["good"][0]


