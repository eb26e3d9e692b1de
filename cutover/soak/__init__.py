"""Workers log readers, the soak counting rules, exact percentiles and the PROCEED/PIVOT gate.

Function API (used by analyze-soak and drill)::

    from cutover.soak.analyze import Options, analyze
    from cutover.soak.report import render_markdown, to_json
    result = analyze(["soak.ndjson"], Options(baseline_cold_ping_ms=420))

The analyze-soak command: `cutover.soak.run.run(AnalyzeOptions(inputs=("soak.ndjson",), ...))`.
"""
