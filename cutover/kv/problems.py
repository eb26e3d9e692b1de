"""The failed-keys file: NDJSON lines for failed keys and invalid documents."""
from __future__ import annotations

import json
import os
from typing import IO, Any, Dict, List

from cutover.core.fsutil import json_text
from cutover.errors import CutoverError
from cutover.mongo import jsvalue


class ProblemLog:
    """NDJSON lines for failed keys and invalid documents, opened only when there is one.
    `path` None (dry run) counts without writing."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.append = False
        self.count = 0
        self.by_kind: Dict[str, int] = {}
        self._handle: IO[str] | None = None

    def keep_first(self, wanted: Dict[str, int]) -> Dict[str, int]:
        """On --resume: keep the first `wanted[module]` invalid-document lines of each module (the
        documents the checkpoint counts, which this run will not read again) and drop every other
        line (this run redoes them), so nothing is listed twice. Returns the lines kept per module."""
        found: Dict[str, int] = {}
        if self.path is None:
            return found
        try:
            with open(self.path, "rb") as handle:
                lines = handle.read().split(b"\n")
        except FileNotFoundError:
            lines = []
        except OSError as exc:
            raise CutoverError(f"--failed-keys {self.path}: cannot read it to resume ({exc.strerror or exc})") from None
        kept: List[bytes] = []
        for raw in lines:
            try:
                entry = json.loads(raw)
            except ValueError:
                continue  # blank, or the torn last line of a killed run
            if not isinstance(entry, dict) or entry.get("kind") != "invalid":
                continue
            module = str(entry.get("module"))
            if found.get(module, 0) < wanted.get(module, 0):
                found[module] = found.get(module, 0) + 1
                kept.append(raw)
        if kept:
            from cutover.core.fsutil import atomic_write_bytes

            atomic_write_bytes(self.path, b"".join(line + b"\n" for line in kept))
            self.append = True
        elif lines:
            os.unlink(self.path)  # it listed only what this run redoes
        self.count = len(kept)
        self.by_kind = {"invalid": len(kept)} if kept else {}
        return found

    def add(self, module: str, kind: str, key: str | None, doc_id: Any, reason: str) -> None:
        self.count += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        if self.path is None:
            return
        if self._handle is None:
            self._handle = open(self.path, "a" if self.append else "w", encoding="utf-8")  # noqa: SIM115
        try:
            shown_id = jsvalue.to_plain(doc_id)
        except TypeError:
            shown_id = repr(doc_id)
        line = {"module": module, "kind": kind, "key": key, "_id": shown_id, "reason": reason}
        self._handle.write(json_text(line) + "\n")  # a lone-surrogate _id or key must not stop the run
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

