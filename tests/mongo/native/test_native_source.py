"""Our driver against the test server: TLS, SCRAM, batches, resume, read preference, SRV."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from cutover.mongo.base import ScanOptions, SourceIncomplete
from cutover.mongo.native.errors import MongoAuthError, MongoCommandError, MongoNetworkError, MongoTLSError
from cutover.mongo.native.source import NativeSource
from cutover.mongo.values import DateTime, Int64, ObjectId
from tests.mongo.native.conftest import PASSWORD, SASL_PASSWORD, sample_documents, uri_for
from tests.support.dns_server import DNSTestServer
from tests.support.mongo_server import MongoTestServer, ScramUser, replica_set
from tests.support.pymongo_compat import from_pymongo, key


def _source(uri: str, warnings: list[str] | None = None, **kw: object) -> NativeSource:
    sink = warnings if warnings is not None else []
    return NativeSource(uri, "bot", warn=sink.append, sleep=lambda s: None, **kw)  # type: ignore[arg-type]


def _expected(server: MongoTestServer) -> list:
    from tests.support.mongo_server import bson_order

    docs = sorted(server.data["bot"]["users"], key=lambda d: bson_order(d["_id"]))
    return [from_pymongo(d) for d in docs]


def test_scan_reads_every_document_in_id_order_over_several_batches(server: MongoTestServer, ca_file: str) -> None:
    with _source(uri_for(server, ca_file)) as source:
        batches = list(source.scan("users", ScanOptions(batch_size=4)))
        assert source.count("users") == 27
    assert [len(b) for b in batches] == [4, 4, 4, 4, 4, 4, 3]
    docs = [d for b in batches for d in b]
    assert key(docs) == key(_expected(server))
    assert docs[0]["_id"] == 7 and docs[1]["_id"] == "session:abc" and isinstance(docs[2]["_id"], ObjectId)
    assert isinstance(docs[2]["updatedAt"], DateTime)
    hello = server.commands("hello")[0]["body"]
    assert hello["client"]["driver"]["name"] == "cutover-native"
    assert server.commands("saslStart")[0]["body"]["mechanism"] == "SCRAM-SHA-256"
    assert len(server.commands("getMore")) == 6
    assert server.open_cursors() == 0


def test_saslprep_password(server: MongoTestServer, ca_file: str) -> None:
    with _source(uri_for(server, ca_file, user="prepped", password=SASL_PASSWORD)) as source:
        assert source.count("users") == 27


def test_scram_sha1_when_the_server_offers_only_that(certs: dict) -> None:
    users = [ScramUser.create("reader", PASSWORD)]
    with MongoTestServer(users=users, data={"bot": {"users": [{"_id": 1}]}}, tls=certs["good"], mechanisms=("SCRAM-SHA-1",)) as srv:
        with _source(uri_for(srv, certs["good"][0])) as source:
            assert [d for b in source.scan("users") for d in b] == [{"_id": 1}]
        assert srv.commands("saslStart")[0]["body"]["mechanism"] == "SCRAM-SHA-1"


def test_server_without_skip_empty_exchange(server: MongoTestServer, ca_file: str) -> None:
    server.faults.forget_skip_empty_exchange = True
    with _source(uri_for(server, ca_file)) as source:
        assert source.count("users") == 27
    assert len(server.commands("saslContinue")) == 2


def test_wrong_password_is_one_clear_line_without_the_password(server: MongoTestServer, ca_file: str) -> None:
    with pytest.raises(MongoAuthError) as info, _source(uri_for(server, ca_file, password="Wr0ng-Passw0rd")) as source:
        source.count("users")
    message = str(info.value)
    assert "\n" not in message
    assert "authentication failed" in message and "'reader'" in message and "authSource=admin" in message
    assert "Wr0ng-Passw0rd" not in message and info.value.exit_code == 1


def test_unauthenticated_command_error_is_one_line_with_code(server: MongoTestServer, ca_file: str) -> None:
    uri = f"mongodb://{server.address}/bot?tls=true&tlsCAFile={quote(ca_file)}"
    with pytest.raises(MongoCommandError) as info, _source(uri) as source:
        list(source.scan("users"))
    assert str(info.value) == "MongoDB find failed: command find requires authentication (code 13 Unauthorized)"


def test_dropped_connection_mid_scan_resumes_without_loss_or_duplicates(server: MongoTestServer, ca_file: str) -> None:
    server.faults.drop_on_getmore = 2
    warnings: list[str] = []
    with _source(uri_for(server, ca_file), warnings) as source:
        docs = [d for b in source.scan("users", ScanOptions(batch_size=5)) for d in b]
    assert key(docs) == key(_expected(server))
    assert len(warnings) == 2 and all("resuming users after the last _id read" in w for w in warnings)
    resumed = [c["body"] for c in server.commands("find")][1:]
    assert len(resumed) == 2 and all(c["hint"] == {"_id": 1} for c in resumed)
    assert len(server.commands("saslStart")) == 3  # each new connection authenticates again


def test_cursor_timed_out_on_the_server_is_resumed(server: MongoTestServer, ca_file: str) -> None:
    server.faults.lose_cursor_on_getmore = 1
    warnings: list[str] = []
    with _source(uri_for(server, ca_file), warnings) as source:
        docs = [d for b in source.scan("users", ScanOptions(batch_size=5)) for d in b]
    assert key(docs) == key(_expected(server))
    assert len(warnings) == 1 and "CursorNotFound" in warnings[0]
    assert len(server.commands("saslStart")) == 1  # same connection, new cursor


def test_drops_with_progress_keep_going(server: MongoTestServer, ca_file: str) -> None:
    server.faults.drop_on_getmore = 100  # every getMore fails, but each find still returns a batch
    with _source(uri_for(server, ca_file), max_resumes=1) as source:
        docs = [d for b in source.scan("users", ScanOptions(batch_size=5)) for d in b]
    assert key(docs) == key(_expected(server))


def test_gives_up_after_max_resumes_without_progress(server: MongoTestServer, ca_file: str) -> None:
    server.faults.drop_on_find = 100
    with pytest.raises(MongoNetworkError, match="gave up after 2 reconnects"), _source(uri_for(server, ca_file), max_resumes=2) as source:
        list(source.scan("users", ScanOptions(batch_size=5)))


def test_after_id_crosses_type_brackets(server: MongoTestServer, ca_file: str) -> None:
    with _source(uri_for(server, ca_file)) as source:
        docs = [d for b in source.scan("users", ScanOptions(after_id=7, batch_size=10)) for d in b]
    assert key(docs) == key(_expected(server)[1:])


def test_since_filter_and_count(server: MongoTestServer, ca_file: str) -> None:
    since = DateTime(1_700_000_000_000 + 20 * 1000)
    with _source(uri_for(server, ca_file)) as source:
        docs = [d for b in source.scan("users", ScanOptions(since=since)) for d in b]
        assert source.count("users", ScanOptions(since=since)) == 6
    assert [d["n"] for d in docs] == [-2, 20, 21, 22, 23, 24]


def test_stopping_early_kills_the_cursor(server: MongoTestServer, ca_file: str) -> None:
    with _source(uri_for(server, ca_file)) as source:
        scan = source.scan("users", ScanOptions(batch_size=3))
        assert len(next(scan)) == 3
        scan.close()
    assert len(server.commands("killCursors")) == 1 and server.open_cursors() == 0


def test_untrusted_certificate_is_an_error(server: MongoTestServer, certs: dict) -> None:
    with pytest.raises(MongoTLSError, match="TLS certificate verification failed for 127.0.0.1") as info:
        _source(uri_for(server, certs["other"][0], extra="&serverSelectionTimeoutMS=2000")).count("users")
    assert "\n" not in str(info.value)
    assert not server.commands()  # nothing was sent to the unverified server


def test_system_cas_do_not_trust_a_self_signed_server(server: MongoTestServer) -> None:
    uri = f"mongodb://reader:{quote(PASSWORD, safe='')}@{server.address}/bot?authSource=admin&tls=true"
    with pytest.raises(MongoTLSError):
        _source(uri).count("users")


def test_tls_insecure_must_be_explicit_and_is_loud(server: MongoTestServer) -> None:
    warnings: list[str] = []
    uri = f"mongodb://reader:{quote(PASSWORD, safe='')}@{server.address}/bot?authSource=admin&tls=true&tlsInsecure=true"
    with _source(uri, warnings) as source:
        assert source.count("users") == 27
    assert any("NOT verified" in w for w in warnings)


def test_plain_connection_to_a_tls_server_fails_cleanly(server: MongoTestServer) -> None:
    uri = f"mongodb://reader:{quote(PASSWORD, safe='')}@{server.address}/bot?authSource=admin&serverSelectionTimeoutMS=500"
    with pytest.raises(MongoNetworkError) as info:
        _source(uri).count("users")
    assert "no suitable MongoDB server" in str(info.value) and PASSWORD not in str(info.value)


@pytest.fixture
def replset(certs: dict):
    users = [ScramUser.create("reader", PASSWORD)]
    data = {"bot": {"users": sample_documents(5)}}
    with MongoTestServer(users=users, data=data, tls=certs["good"], set_name="rs0") as a, MongoTestServer(
        users=users, data=data, tls=certs["good"], set_name="rs0"
    ) as b:
        replica_set([a, b], ["primary", "secondary"])
        yield a, b


def test_secondary_preferred_reads_from_the_secondary(replset, ca_file: str) -> None:
    primary, secondary = replset
    with _source(uri_for(primary, ca_file, extra="&replicaSet=rs0&readPreference=secondaryPreferred")) as source:
        assert len([d for b in source.scan("users") for d in b]) == 7
    assert not primary.commands("find")
    assert secondary.commands("find")[0]["body"]["$readPreference"] == {"mode": "secondaryPreferred"}


def test_secondary_preferred_falls_back_to_the_primary_with_a_warning(replset, ca_file: str) -> None:
    primary, secondary = replset
    secondary.stop()
    warnings: list[str] = []
    with _source(uri_for(primary, ca_file, extra="&replicaSet=rs0&readPreference=secondaryPreferred"), warnings) as source:
        assert source.count("users") == 7
    assert any("no secondary reachable" in w for w in warnings)


def test_primary_mode_follows_hello_from_a_secondary_seed(replset, ca_file: str) -> None:
    primary, secondary = replset
    with _source(uri_for(secondary, ca_file, extra="&replicaSet=rs0")) as source:
        assert source.count("users") == 7
    assert primary.commands("count") and not secondary.commands("count")


def test_wrong_replica_set_name_is_reported(replset, ca_file: str) -> None:
    primary, _ = replset
    with pytest.raises(MongoNetworkError, match="not 'other'"):
        _source(uri_for(primary, ca_file, extra="&replicaSet=other&serverSelectionTimeoutMS=300")).count("users")


def _srv_zone(a: MongoTestServer, b: MongoTestServer, txt: str = "authSource=admin&replicaSet=rs0") -> dict:
    return {
        ("_mongodb._tcp.cluster0.cluster.example.test", "SRV"): [
            (0, 0, a.port, "node-a.cluster.example.test."),
            (0, 0, b.port, "node-b.cluster.example.test."),
        ],
        ("cluster0.cluster.example.test", "TXT"): [txt],
        ("node-a.cluster.example.test", "A"): ["127.0.0.1"],
        ("node-b.cluster.example.test", "A"): ["127.0.0.1"],
    }


@pytest.mark.parametrize("truncate_udp", [False, True], ids=["udp", "tcp-after-truncation"])
def test_srv_and_txt_seed_list_with_tls_on_by_default(replset, ca_file: str, truncate_udp: bool) -> None:
    primary, secondary = replset
    with DNSTestServer(_srv_zone(primary, secondary), truncate_udp=truncate_udp) as dns:
        uri = f"mongodb+srv://reader:{quote(PASSWORD, safe='')}@cluster0.cluster.example.test/bot?tlsCAFile={quote(ca_file)}"
        with _source(uri, dns_server=dns.address) as source:
            assert source.uri.options["replicaSet"] == "rs0" and source.uri.auth_source == "admin"
            assert source.count("users") == 7
        transports = {t for t, _n, _q in dns.queries}
    assert transports == ({"udp", "tcp"} if truncate_udp else {"udp"})
    assert ("udp", "_mongodb._tcp.cluster0.cluster.example.test", "SRV") in dns.queries
    assert primary.commands("count")  # TLS (no tls=true in the URI) with the host name checked against the cert


def test_srv_without_txt_record(replset, ca_file: str) -> None:
    primary, secondary = replset
    zone = _srv_zone(primary, secondary)
    del zone[("cluster0.cluster.example.test", "TXT")]  # the name does not exist at all: NXDOMAIN
    with DNSTestServer(zone) as dns:
        uri = f"mongodb+srv://reader:{quote(PASSWORD, safe='')}@cluster0.cluster.example.test/bot?authSource=admin&tlsCAFile={quote(ca_file)}"
        with _source(uri, dns_server=dns.address) as source:
            assert source.count("users") == 7
    assert ("udp", "cluster0.cluster.example.test", "TXT") in dns.queries


def test_srv_target_outside_the_domain_is_refused(replset, ca_file: str) -> None:
    primary, secondary = replset
    zone = _srv_zone(primary, secondary)
    zone[("_mongodb._tcp.cluster0.cluster.example.test", "SRV")] = [(0, 0, primary.port, "evil.example.org.")]
    with DNSTestServer(zone) as dns:
        uri = f"mongodb+srv://reader:{quote(PASSWORD, safe='')}@cluster0.cluster.example.test/bot"
        with pytest.raises(Exception, match="outside the domain cluster.example.test"):
            _source(uri, dns_server=dns.address)


def test_srv_txt_may_not_set_other_options(replset) -> None:
    primary, secondary = replset
    with DNSTestServer(_srv_zone(primary, secondary, txt="tlsInsecure=true")) as dns:
        uri = "mongodb+srv://cluster0.cluster.example.test/bot"
        with pytest.raises(Exception, match="not allowed"):
            _source(uri, dns_server=dns.address)


def test_srv_unknown_name(replset) -> None:
    primary, secondary = replset
    with DNSTestServer(_srv_zone(primary, secondary)) as dns, pytest.raises(Exception, match="no such DNS name"):
        _source("mongodb+srv://nope.cluster.example.test/bot", dns_server=dns.address)


def test_projection_always_keeps_the_resume_key(server: MongoTestServer, ca_file: str) -> None:
    with _source(uri_for(server, ca_file)) as source:
        docs = [d for b in source.scan("users", ScanOptions(projection={"_id": 0, "n": 1}, batch_size=10)) for d in b]
    assert len(docs) == 27 and all(set(d) == {"_id", "n"} for d in docs)
    assert server.commands("find")[0]["body"]["projection"] == {"n": 1}


def test_unreachable_server_fails_after_one_selection_timeout_not_many_reconnects() -> None:
    """A refused connection is reported once the selection timeout is spent; re-selecting
    max_resumes more times would keep a 4 am operator waiting for minutes."""
    warnings: list[str] = []
    uri = "mongodb://127.0.0.1:9/bot?serverSelectionTimeoutMS=300"
    source = NativeSource(uri, "bot", warn=warnings.append, sleep=lambda s: None)
    with pytest.raises(MongoNetworkError, match="no suitable MongoDB server") as info:
        list(source.scan("users", ScanOptions(batch_size=5)))
    assert "gave up after" not in str(info.value)
    assert not any("reconnecting" in w for w in warnings)


# -- the end-of-scan count: a scan never silently loses a document -----------------------


def test_a_document_lost_in_a_getmore_batch_fails_the_scan_after_the_last_batch(server: MongoTestServer, ca_file: str) -> None:
    server.faults.lose_on_getmore = 1  # the second batch leaves out one document
    batches: list = []
    expected = r"aggregate counts 27 documents in the range read, find returned 26: 1 "
    with pytest.raises(SourceIncomplete, match=expected) as info, _source(uri_for(server, ca_file)) as source:
        for batch in source.scan("users", ScanOptions(batch_size=5)):
            batches.append(batch)
    assert (info.value.counted, info.value.scanned) == (27, 26) and info.value.exit_code == 1
    assert sum(len(b) for b in batches) == 26  # everything read was handed on before the error
    pipeline = server.commands("aggregate")[0]["body"]["pipeline"]
    assert pipeline[-1] == {"$count": "n"} and "$match" in pipeline[0]


def test_a_complete_scan_passes_its_count_with_since_and_resume_position(server: MongoTestServer, ca_file: str) -> None:
    since = DateTime(1_700_000_000_000 + 20 * 1000)
    with _source(uri_for(server, ca_file)) as source:
        assert sum(len(b) for b in source.scan("users", ScanOptions(batch_size=4))) == 27
        assert sum(len(b) for b in source.scan("users", ScanOptions(since=since, batch_size=2))) == 6
        docs = _expected(server)
        resumed = ScanOptions(after_id=docs[10]["_id"], read_before=11, batch_size=4)
        assert sum(len(b) for b in source.scan("users", resumed)) == 16
        assert sum(len(b) for b in source.scan("users", ScanOptions(after_id=docs[10]["_id"], batch_size=4))) == 16
    assert len(server.commands("aggregate")) == 4


def _added(server: MongoTestServer, doc: dict) -> None:
    with server._lock:
        server.data["bot"]["users"].append(doc)


def test_documents_added_past_the_read_end_during_the_scan_are_not_a_loss(server: MongoTestServer, ca_file: str) -> None:
    from bson.objectid import ObjectId as BsonObjectId

    newest = {"_id": BsonObjectId(bytes.fromhex("7f000000") + bytes(8)), "n": 999}  # the bot's next insert
    with _source(uri_for(server, ca_file)) as source:
        scan = source.scan("users", ScanOptions(batch_size=5))
        read = len(next(scan))
        _added(server, newest)  # the open cursor does not return it; the count must not take it for a loss
        read += sum(len(b) for b in scan)
    assert read == 27
    match = server.commands("aggregate")[0]["body"]["pipeline"][0]["$match"]
    assert "$lte" in str(match)  # the count stops at the last _id read


def test_a_document_added_behind_the_read_position_during_the_scan_is_found_missing(server: MongoTestServer, ca_file: str) -> None:
    expected = "counts 28 .* returned 27: 1 were lost .* or added behind the read position"
    with pytest.raises(SourceIncomplete, match=expected), _source(uri_for(server, ca_file)) as source:
        scan = source.scan("users", ScanOptions(batch_size=5))
        next(scan)
        _added(server, {"_id": -5, "n": -5})  # sorts before every _id already read
        list(scan)


def test_a_resume_that_knows_what_earlier_runs_read_counts_from_the_start(server: MongoTestServer, ca_file: str) -> None:
    docs = _expected(server)
    position = ScanOptions(after_id=docs[10]["_id"], read_before=11, batch_size=4)
    _added(server, {"_id": -5, "n": -5})  # added behind the position between the runs
    with _source(uri_for(server, ca_file)) as source:
        with pytest.raises(SourceIncomplete, match=r"counts 28 .* returned 27 \(11 of them in the runs before this --resume\)"):
            list(source.scan("users", position))
        # without what the earlier runs read only this run's range is counted: the addition goes unseen
        assert sum(len(b) for b in source.scan("users", ScanOptions(after_id=docs[10]["_id"]))) == 16
        # nothing left after the position: the count still covers the start
        with pytest.raises(SourceIncomplete, match="counts 28"):
            list(source.scan("users", ScanOptions(after_id=docs[-1]["_id"], read_before=27)))


def test_a_reconnect_mid_scan_does_not_upset_the_count(server: MongoTestServer, ca_file: str) -> None:
    server.faults.drop_on_getmore = 2
    with _source(uri_for(server, ca_file)) as source:
        assert sum(len(b) for b in source.scan("users", ScanOptions(batch_size=5))) == 27
    assert len(server.commands("aggregate")) == 1


@pytest.mark.parametrize("batch, expected", [
    ([], 0), ([{"n": 5}], 5), ([{"n": Int64(7)}], 7), (None, None), ({"n": 1}, None), ([{"x": 1}], None),
    ([{"n": True}], None), ([{"n": 2.0}], None),
])
def test_count_in_an_aggregate_reply(batch: object, expected: int | None) -> None:
    from cutover.mongo.native.source import _count_in

    assert _count_in(batch) == expected
