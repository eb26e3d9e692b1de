"""The test server is faithful: real pymongo connects over TLS, authenticates with SCRAM and reads."""
from __future__ import annotations

import time

import pymongo
import pytest
from bson.codec_options import CodecOptions, DatetimeConversion
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from tests.mongo.native.conftest import PASSWORD, SASL_PASSWORD, uri_for
from tests.support.mongo_server import MongoTestServer, ScramUser, replica_set


def _client(uri: str, **kw: object) -> pymongo.MongoClient:
    options: dict = {"serverSelectionTimeoutMS": 5000, "connectTimeoutMS": 5000, **kw}
    return pymongo.MongoClient(uri, **options)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_pymongo_reads_all_documents_in_batches(server: MongoTestServer, ca_file: str, mechanism: str) -> None:
    with _client(uri_for(server, ca_file, extra=f"&authMechanism={mechanism}")) as client:
        coll = client.get_database("bot", CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_MS)).users
        docs = list(coll.find({}, sort=[("_id", 1)], batch_size=4))
    assert len(docs) == 27
    assert [d["n"] for d in docs[:2]] == [-1, -2]  # number < string < ObjectId, as mongod sorts
    assert [d["n"] for d in docs[2:]] == list(range(25))
    assert len(server.commands("getMore")) == 6
    starts = server.commands("saslStart")
    assert starts and starts[-1]["body"]["mechanism"] == mechanism


def test_pymongo_default_mechanism_and_saslprep(server: MongoTestServer, ca_file: str) -> None:
    with _client(uri_for(server, ca_file, user="prepped", password=SASL_PASSWORD)) as client:
        assert client.bot.command("count", "users")["n"] == 27
    assert server.commands("saslStart")[-1]["body"]["mechanism"] == "SCRAM-SHA-256"


def test_pymongo_wrong_password_is_refused(server: MongoTestServer, ca_file: str) -> None:
    with _client(uri_for(server, ca_file, password="wrong-password")) as client, pytest.raises(OperationFailure) as info:
        client.bot.users.find_one()
    assert info.value.code == 18


def test_pymongo_rejects_untrusted_certificate(server: MongoTestServer, certs: dict) -> None:
    client = _client(uri_for(server, certs["other"][0]), serverSelectionTimeoutMS=1000)
    with client, pytest.raises(ServerSelectionTimeoutError, match="(?i)certificate"):
        client.bot.users.find_one()


def test_pymongo_min_hint_and_kill_cursors(server: MongoTestServer, ca_file: str) -> None:
    with _client(uri_for(server, ca_file)) as client:
        cursor = client.bot.users.find({}).sort("_id", 1).hint([("_id", 1)]).min([("_id", "session:abc")]).batch_size(3)
        first = next(cursor)
        assert first["_id"] == "session:abc"
        cursor.close()
    assert server.commands("killCursors")
    assert server.open_cursors() == 0


def test_pymongo_secondary_preferred_reads_from_the_secondary(certs: dict) -> None:
    users = [ScramUser.create("reader", PASSWORD)]
    data = {"bot": {"users": [{"_id": 1}]}}
    with MongoTestServer(users=users, data=data, tls=certs["good"], set_name="rs0") as a, MongoTestServer(
        users=users, data=data, tls=certs["good"], set_name="rs0"
    ) as b:
        replica_set([a, b], ["primary", "secondary"])
        uri = uri_for(a, certs["good"][0], extra="&replicaSet=rs0&readPreference=secondaryPreferred")
        with _client(uri) as client:
            # pymongo may pick the primary before its monitor has met the secondary; wait (bounded).
            for _ in range(100):
                if client.secondaries:
                    break
                time.sleep(0.05)
            assert client.secondaries == {("127.0.0.1", b.port)}
            assert client.bot.users.find_one() == {"_id": 1}
        assert b.commands("find") and not a.commands("find")
        assert b.commands("find")[0]["body"]["$readPreference"]["mode"] == "secondaryPreferred"
