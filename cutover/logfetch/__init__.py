"""Getting a soak's Workers logs: the Observability telemetry query API and Logpush folders."""
from __future__ import annotations
