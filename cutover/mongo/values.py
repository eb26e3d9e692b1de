"""The value types every Mongo source decodes into and every sink converts from.

Plain Python is used where it is exact: None, bool, int (Int32), float (Double, incl.
NaN/±Infinity), str, list, dict (field order kept). Everything else gets a small type
here, so the EJSON decoder and the native BSON decoder produce identical documents.
"""
from __future__ import annotations

import base64
import datetime as _dt
import uuid as _uuid
from dataclasses import dataclass, field
from typing import Any, Dict, Tuple

Document = Dict[str, Any]

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class Int64(int):
    """A BSON int64 (`$numberLong`); behaves as int, remembers its BSON type."""

    def __repr__(self) -> str:
        return f"Int64({int(self)})"


@dataclass(frozen=True, order=True)
class ObjectId:
    # slots: an export holds one per document, and readers build them by hand (see ejson)
    __slots__ = ("binary",)
    binary: bytes  # 12 bytes

    def __reduce__(self) -> Tuple[Any, ...]:  # frozen + slots: pickle/copy through __init__
        return (ObjectId, (self.binary,))

    def __post_init__(self) -> None:
        if len(self.binary) != 12:
            raise ValueError("ObjectId must be 12 bytes")

    @classmethod
    def from_hex(cls, text: str) -> ObjectId:
        if len(text) != 24:
            raise ValueError(f"ObjectId hex must be 24 characters, got {len(text)}")
        return cls(bytes.fromhex(text))

    @property
    def hex(self) -> str:
        return self.binary.hex()

    @property
    def timestamp(self) -> int:
        """Seconds since the epoch encoded in the first 4 bytes (creation time)."""
        return int.from_bytes(self.binary[:4], "big")

    def __str__(self) -> str:
        return self.hex

    def __repr__(self) -> str:
        return f"ObjectId({self.hex!r})"


@dataclass(frozen=True, order=True)
class DateTime:
    """A BSON UTC datetime: signed milliseconds since the epoch (may exceed datetime's range)."""

    __slots__ = ("millis",)
    millis: int

    def __reduce__(self) -> Tuple[Any, ...]:
        return (DateTime, (self.millis,))

    @classmethod
    def from_datetime(cls, value: _dt.datetime) -> DateTime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        delta = value - _EPOCH
        return cls((delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000)

    def to_datetime(self) -> _dt.datetime:
        """As an aware UTC datetime; raises OverflowError outside years 1..9999."""
        return _EPOCH + _dt.timedelta(milliseconds=self.millis)

    @property
    def seconds(self) -> float:
        return self.millis / 1000.0

    def iso(self) -> str:
        """As JavaScript's `Date.prototype.toISOString` prints it (ms precision, 'Z')."""
        try:
            d = self.to_datetime()
        except OverflowError:
            return _iso_extended(self.millis)
        return f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}.{d.microsecond // 1000:03d}Z"

    def __repr__(self) -> str:
        return f"DateTime({self.iso()})"


def _iso_extended(millis: int) -> str:
    # JavaScript's expanded-year form (+275760-09-13T00:00:00.000Z) for dates beyond year 9999.
    days, ms = divmod(millis, 86_400_000)
    # proleptic Gregorian via civil-from-days (Howard Hinnant), valid far outside datetime.
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = y + (1 if m <= 2 else 0)
    h, rest = divmod(ms, 3_600_000)
    mi, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    year = f"{y:04d}" if 0 <= y <= 9999 else (f"+{y:06d}" if y > 0 else f"-{-y:06d}")
    return f"{year}-{m:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{milli:03d}Z"


@dataclass(frozen=True)
class Decimal128:
    """A BSON decimal128, kept as its canonical string (e.g. '1.10', 'NaN', '-Infinity')."""

    value: str

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Binary:
    data: bytes
    subtype: int = 0

    def as_uuid(self) -> _uuid.UUID | None:
        if self.subtype in (3, 4) and len(self.data) == 16:
            return _uuid.UUID(bytes=self.data)
        return None

    def b64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")


@dataclass(frozen=True)
class Timestamp:
    time: int  # seconds
    inc: int


@dataclass(frozen=True)
class Regex:
    pattern: str
    flags: str = ""


class Symbol(str):
    """A deprecated BSON symbol; behaves as str."""


@dataclass(frozen=True)
class Code:
    code: str
    scope: Document | None = field(default=None, compare=True, hash=False)


@dataclass(frozen=True)
class DBRef:
    collection: str
    id: Any
    database: str | None = None
    extra: Document = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class DBPointer:
    namespace: str
    id: ObjectId


class _Singleton:
    _name = ""

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name


class _MinKey(_Singleton):
    _name = "MinKey"


class _MaxKey(_Singleton):
    _name = "MaxKey"


class _Undefined(_Singleton):
    _name = "Undefined"


MinKey = _MinKey()
MaxKey = _MaxKey()
Undefined = _Undefined()
