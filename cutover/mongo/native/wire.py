"""OP_MSG framing: build a request, read a reply (kind 0 and kind 1 sections, checksum ignored)."""
from __future__ import annotations

import struct
from typing import Any, Callable, Dict, List, Mapping, Tuple

from cutover.mongo.native import bson

OP_MSG = 2013
OP_COMPRESSED = 2012
HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
CHECKSUM_PRESENT = 1 << 0
MORE_TO_COME = 1 << 1
# Bound what a peer can make us allocate; real servers cap messages at 48,000,000 bytes.
MAX_MESSAGE_BYTES = 48_000_000 * 2


class WireError(ValueError):
    """A malformed or unsupported message from the peer."""


def encode_op_msg(
    request_id: int,
    body: Mapping[str, Any],
    sequences: Mapping[str, List[Mapping[str, Any]]] | None = None,
    response_to: int = 0,
    flags: int = 0,
) -> bytes:
    """One OP_MSG: the body as a kind 0 section, each document sequence as a kind 1 section."""
    parts = [struct.pack("<I", flags), b"\x00", bson.encode(body)]
    for identifier, docs in (sequences or {}).items():
        payload = identifier.encode("utf-8") + b"\x00" + b"".join(bson.encode(d) for d in docs)
        parts.append(b"\x01" + struct.pack("<i", len(payload) + 4) + payload)
    payload = b"".join(parts)
    return HEADER.pack(HEADER.size + len(payload), request_id, response_to, OP_MSG) + payload


def decode_op_msg(payload: bytes) -> Tuple[int, Dict[str, Any]]:
    """Flag bits and the body, with each kind 1 document sequence added to it under its identifier."""
    if len(payload) < 5:
        raise WireError("OP_MSG too short")
    (flags,) = struct.unpack_from("<I", payload, 0)
    end = len(payload) - (4 if flags & CHECKSUM_PRESENT else 0)  # the CRC-32C is not checked
    pos = 4
    body: Dict[str, Any] | None = None
    sequences: Dict[str, List[Any]] = {}
    while pos < end:
        kind = payload[pos]
        pos += 1
        if kind == 0:
            if body is not None:
                raise WireError("OP_MSG with two body sections")
            body, pos = bson.decode_at(payload[:end], pos)
        elif kind == 1:
            if pos + 4 > end:
                raise WireError("truncated OP_MSG document sequence")
            (size,) = struct.unpack_from("<i", payload, pos)
            seq_end = pos + size
            if size < 5 or seq_end > end:
                raise WireError("invalid OP_MSG document sequence size")
            nul = payload.find(b"\x00", pos + 4, seq_end)
            if nul < 0:
                raise WireError("unterminated OP_MSG sequence identifier")
            identifier = payload[pos + 4 : nul].decode("utf-8")
            docs, at = [], nul + 1
            while at < seq_end:
                doc, at = bson.decode_at(payload[:seq_end], at)
                docs.append(doc)
            sequences.setdefault(identifier, []).extend(docs)
            pos = seq_end
        else:
            raise WireError(f"unknown OP_MSG section kind {kind}")
    if body is None:
        raise WireError("OP_MSG without a body section")
    for identifier, docs in sequences.items():
        body[identifier] = docs
    return flags, body


def read_message(recv_exact: Callable[[int], bytes]) -> Tuple[int, int, int, bytes]:
    """(request_id, response_to, op_code, payload) of the next message on the stream."""
    length, request_id, response_to, op_code = HEADER.unpack(recv_exact(HEADER.size))
    if not HEADER.size < length <= MAX_MESSAGE_BYTES:
        raise WireError(f"invalid message length {length}")
    return request_id, response_to, op_code, recv_exact(length - HEADER.size)
