"""--audit-log: one JSON line per run (UTC time, user, host, resource, outcome), appended."""
from __future__ import annotations

import datetime
import getpass
import json
import os
import socket
from typing import IO, Any

from cutover import __version__
from cutover.errors import CutoverError


def _user() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no name for this uid (containers): fall back to the number
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    sudo = os.environ.get("SUDO_USER")
    return f"{user} (sudo by {sudo})" if sudo and sudo != user else user


class AuditLog:
    """Opened before the prompt, so an unwritable log stops the run before anything is asked."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._handle: IO[str] | None = None
        if path:
            try:
                self._handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
            except OSError as exc:
                raise CutoverError(f"nothing deleted: cannot open audit log {path} ({exc.strerror})") from None

    def write(self, resource: str, account: str | None, outcome: str, **extra: Any) -> None:
        if self._handle is None:
            return
        record = {
            "time": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "user": _user(),
            "host": socket.gethostname(),
            "resource": resource,
            "account": account,
            "outcome": outcome,
            **extra,
            "tool": f"cutover {__version__} delete-guard",
        }
        try:
            self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            raise CutoverError(f"cannot write audit log {self.path} ({exc.strerror})") from None

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
