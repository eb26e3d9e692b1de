"""A module's counters: carried through the checkpoint, summed into the summary."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict


@dataclass
class ModuleStats:
    documents: int = 0
    written: int = 0
    expired: int = 0
    superseded: int = 0
    invalid: int = 0
    invalid_by_reason: Dict[str, int] = field(default_factory=dict)
    failed: int = 0
    single_puts: int = 0  # written by single-key PUT: too big for a bulk request
    bytes: int = 0
    requests: int = 0
    retries: int = 0
    elapsed_s: float = 0.0

    def copy(self) -> ModuleStats:
        return ModuleStats(**{**asdict(self), "invalid_by_reason": dict(self.invalid_by_reason)})
