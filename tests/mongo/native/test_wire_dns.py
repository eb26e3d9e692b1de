"""OP_MSG framing and DNS message parsing, including hostile inputs."""
from __future__ import annotations

import struct

import pytest

from cutover.mongo.native import bson, wire
from cutover.mongo.native.dns import (
    DNSError,
    SRVRecord,
    build_query,
    nameservers_from_resolv_conf,
    parse_nameserver,
    parse_response,
)
from tests.support.pymongo_compat import pymongo_decode


def test_op_msg_round_trip_with_sequences_and_checksum() -> None:
    message = wire.encode_op_msg(7, {"insert": "c", "$db": "x"}, {"documents": [{"a": 1}, {"a": 2}]})
    length, request_id, response_to, op_code = wire.HEADER.unpack_from(message)
    assert (length, request_id, response_to, op_code) == (len(message), 7, 0, wire.OP_MSG)
    flags, body = wire.decode_op_msg(message[16:])
    assert flags == 0 and body == {"insert": "c", "$db": "x", "documents": [{"a": 1}, {"a": 2}]}
    # A trailing CRC-32C (flag bit 0) is tolerated and not parsed as a section.
    payload = struct.pack("<I", wire.CHECKSUM_PRESENT) + message[20:] + b"\xde\xad\xbe\xef"
    assert wire.decode_op_msg(payload)[1]["documents"] == [{"a": 1}, {"a": 2}]
    assert pymongo_decode(message[21 : 21 + struct.unpack_from("<i", message, 21)[0]]) == {"insert": "c", "$db": "x"}


@pytest.mark.parametrize(
    "payload",
    [b"\x00\x00\x00\x00", b"\x00\x00\x00\x00\x02" + bson.encode({}), b"\x00\x00\x00\x00\x01\xff\xff\x00\x00", b"\x00\x00\x00\x00\x00\x05\x00"],
)
def test_op_msg_malformed(payload: bytes) -> None:
    with pytest.raises((wire.WireError, bson.BSONError)):
        wire.decode_op_msg(payload)


def test_read_message_rejects_absurd_lengths() -> None:
    header = wire.HEADER.pack(2**31 - 1, 1, 0, wire.OP_MSG)
    with pytest.raises(wire.WireError):
        wire.read_message(lambda n: header[:n])


def _response(qid: int, answers: bytes, count: int, flags: int = 0x8180) -> bytes:
    question = b"\x03abc\x00\x00\x21\x00\x01"
    return struct.pack(">HHHHHH", qid, flags, 1, count, 0, 0) + question + answers


def test_srv_with_compressed_names() -> None:
    rdata = struct.pack(">HHH", 1, 2, 27017) + b"\x04node\xc0\x0c"
    message = _response(9, struct.pack(">HHHIH", 0xC00C, 33, 1, 60, len(rdata)) + rdata, 1)
    assert parse_response(message, 9, 33) == (False, [SRVRecord(1, 2, 27017, "node.abc")])


@pytest.mark.parametrize(
    "message, error",
    [
        (_response(1, b"", 0), "does not match"),
        (_response(9, b"", 0, flags=0x8183), "NXDOMAIN"),
        (_response(9, struct.pack(">HHHIH", 0xC00C, 33, 1, 60, 50), 1), "truncated"),
        (_response(9, b"\xc0\x1d" + b"\x00" * 10, 1)[:-10] + b"\xc0\x1d", "truncated|loop"),
    ],
)
def test_bad_responses(message: bytes, error: str) -> None:
    with pytest.raises(DNSError, match=error):
        parse_response(message, 9, 33)


def test_pointer_loop_is_bounded() -> None:
    looping = _response(9, b"", 0)[:12] + b"\xc0\x0c\x00\x21\x00\x01"
    looping = looping[:4] + b"\x00\x01" + looping[6:]
    with pytest.raises(DNSError):
        parse_response(looping, 9, 33)


def test_truncated_flag_is_reported() -> None:
    assert parse_response(_response(9, b"", 0, flags=0x8380), 9, 33) == (True, [])


def test_query_and_config_helpers(tmp_path) -> None:
    assert build_query(5, "a.bc", 16)[12:] == b"\x01a\x02bc\x00\x00\x10\x00\x01"
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch x\nnameserver 10.0.0.1\nnameserver fe80::1%eth0\n")
    assert nameservers_from_resolv_conf(str(conf)) == [("10.0.0.1", 53), ("fe80::1", 53)]
    assert nameservers_from_resolv_conf(str(tmp_path / "absent")) == []
    assert parse_nameserver("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_nameserver("[::1]:53") == ("::1", 53)
    assert parse_nameserver("10.1.1.1") == ("10.1.1.1", 53)
