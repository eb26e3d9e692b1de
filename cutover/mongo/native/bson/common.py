"""What BSON's encoder and decoder share: the error type and the little-endian number formats."""
from __future__ import annotations

import struct

_INT32 = struct.Struct("<i")
_INT64 = struct.Struct("<q")
_DOUBLE = struct.Struct("<d")
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class BSONError(ValueError):
    """Malformed BSON, or a value that cannot be encoded."""

