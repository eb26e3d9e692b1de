"""decimal128 (IEEE 754-2008, BID encoding) to and from its canonical string, exactly."""
from __future__ import annotations

import decimal
import struct

from cutover.mongo.native.bson.common import BSONError

_D128_BIAS = 6176
_D128_MAX_COEFF = 10**34 - 1


def decimal128_to_string(raw: bytes) -> str:
    """The canonical string of 16 little-endian decimal128 bytes (the spec's to-string algorithm)."""
    low, high = struct.unpack("<QQ", raw)
    negative = bool(high >> 63)
    combination = (high >> 58) & 0x1F
    if combination == 0x1F:
        return "NaN"
    if combination == 0x1E:
        return "-Infinity" if negative else "Infinity"
    if (high >> 61) & 0x3 == 0x3:
        # The "11" form always exceeds the largest coefficient: the value is zero.
        exponent = ((high >> 47) & 0x3FFF) - _D128_BIAS
        coefficient = 0
    else:
        exponent = ((high >> 49) & 0x3FFF) - _D128_BIAS
        coefficient = ((high & 0x1FFFFFFFFFFFF) << 64) | low
        if coefficient > _D128_MAX_COEFF:
            coefficient = 0
    digits = tuple(int(c) for c in str(coefficient))
    # Python's Decimal prints the General Decimal Arithmetic "to-scientific-string", which is
    # exactly the algorithm the BSON decimal128 spec prescribes.
    return str(decimal.Decimal((1 if negative else 0, digits, exponent)))


def decimal128_from_string(text: str) -> bytes:
    """16 little-endian bytes for a decimal string; inexact values are an error (no rounding)."""
    # Python's Decimal also accepts surrounding blanks and digit underscores; BSON does not.
    if text != text.strip() or "_" in text:
        raise BSONError(f"not a decimal128 value: {text!r}")
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise BSONError(f"not a decimal128 value: {text!r}") from None
    sign, digits, exponent = value.as_tuple()
    high_sign = (1 << 63) if sign else 0
    if value.is_nan():
        if value.is_snan() or digits not in ((), (0,)):
            raise BSONError(f"not a decimal128 value: {text!r}")
        return struct.pack("<QQ", 0, 0x7C00000000000000)
    if value.is_infinite():
        return struct.pack("<QQ", 0, high_sign | 0x7800000000000000)
    coefficient = int("".join(map(str, digits)) or "0")
    exp = int(exponent)
    # Clamp into range without changing the value: pad or strip zeros.
    while exp > 6111 and coefficient != 0 and coefficient * 10 <= _D128_MAX_COEFF:
        coefficient *= 10
        exp -= 1
    while exp < -6176 and coefficient % 10 == 0 and coefficient != 0:
        coefficient //= 10
        exp += 1
    if coefficient == 0:
        exp = min(max(exp, -6176), 6111)
    if coefficient > _D128_MAX_COEFF or not -6176 <= exp <= 6111:
        raise BSONError(f"decimal128 value out of range or inexact: {text!r}")
    biased = exp + _D128_BIAS
    high = high_sign | (biased << 49) | (coefficient >> 64)
    return struct.pack("<QQ", coefficient & 0xFFFFFFFFFFFFFFFF, high)
