"""What the Extended JSON decoders share: the error type, the value ranges and the checks of a
wrapper's shape."""
from __future__ import annotations

from typing import Any, Dict


class EJSONError(ValueError):
    """Input is JSON but not valid Extended JSON (bad wrapper, out of range value)."""



_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT32_MAX = 2**32 - 1


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 120 else text[:117] + "..."


def _fail(kind: str, doc: Any, why: str) -> EJSONError:
    return EJSONError(f"bad {kind} ({why}): {_short(doc)}")


def _only(doc: Dict[str, Any], key: str) -> Any:
    if len(doc) != 1:
        raise _fail(key, doc, "extra fields")
    return doc[key]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
