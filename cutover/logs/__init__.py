"""Workers log readers, the soak counting rules, exact percentiles and the PROCEED/PIVOT gate.

Function API (used by analyze-soak and drill)::

    from cutover.logs import Options, analyze, render_markdown, to_json
    result = analyze(["soak.ndjson"], Options(baseline_cold_ping_ms=420))
"""
from __future__ import annotations

from cutover.logs.analyze import Options, SoakResult, analyze
from cutover.logs.report import render_markdown, to_json

__all__ = ["Options", "SoakResult", "analyze", "render_markdown", "to_json"]
