"""BSON encode (commands) and strict decode (documents) into `cutover.mongo.values` types.

Inside: `decoder`, `encoder`, `decimal128` (the 128-bit decimal's own encoding), `common`.
"""
from __future__ import annotations

from cutover.mongo.native.bson.common import BSONError
from cutover.mongo.native.bson.decimal128 import decimal128_from_string, decimal128_to_string
from cutover.mongo.native.bson.decoder import decode, decode_at
from cutover.mongo.native.bson.encoder import encode

__all__ = ["BSONError", "decode", "decode_at", "encode", "decimal128_to_string", "decimal128_from_string"]
