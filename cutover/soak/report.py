"""soak-decision.md and the --json summary from a SoakResult."""
from __future__ import annotations

import json
import time
from typing import Any, Dict, List

from cutover.core.stats import P99_MIN_SAMPLES
from cutover.soak.analyze import SoakResult


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{int(ms) % 1000:03d}Z"


def _code(text: str) -> str:
    """Inline code safe inside a table cell: no pipes, backticks or line breaks from log data."""
    clean = text.replace("`", "'").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return f"`{clean}`" if clean.strip() else "`(empty)`"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def counts(result: SoakResult) -> Dict[str, Any]:
    tally = result.tally
    outcomes = tally.outcome_counts()
    return {
        "records": tally.records,
        "cmd_timing": tally.cmd_timing,
        "cpu_time_exceeded": outcomes.get(result.options.patterns.cpu_outcome, 0),
        "dual_write_failures": tally.dual_write_failures,
        "mongo_connection_errors": tally.mongo_connection_errors,
        "malformed": tally.malformed,
        "cold_unknown": tally.cold_unknown,
        "unrecognized": tally.unrecognized,
        "outside_window": tally.outside_window,
        "kept_without_time": tally.kept_without_time,
        "outcomes": dict(sorted(outcomes.items())),
    }


def to_json(result: SoakResult) -> Dict[str, Any]:
    """The documented --json shape (docs/reference.md), plus span, inputs, hourly."""
    gate = result.gate
    tally = result.tally
    return {
        "decision": gate.decision,
        "reason": gate.reason,
        "gate": {
            "cold_p95_ms": gate.cold_p95_ms,
            "baseline_cold_ping_ms": gate.baseline_cold_ping_ms,
            "factor": gate.factor,
            "threshold_ms": gate.threshold_ms,
            "cmd": gate.cmd,
            "cold_samples": gate.cold_samples,
            "min_cold_samples": gate.min_cold_samples,
        },
        "groups": [
            {"cmd": g.cmd, "cold": g.cold, "count": g.summary.count, "p50_ms": g.summary.p50, "p95_ms": g.summary.p95,
             "p99_ms": g.summary.p99, "max_ms": g.summary.max}
            for g in result.groups
        ],
        "counts": counts(result),
        "span": {"first": _iso(tally.first_ms), "last": _iso(tally.last_ms),
                 "hours": None if tally.first_ms is None or tally.last_ms is None else round((tally.last_ms - tally.first_ms) / 3_600_000, 2)},
        "inputs": [{"name": i.name, "container": i.container, "formats": i.formats, "records": i.records,
                    "malformed": i.malformed, "fast_path_records": i.fast_records} for i in result.inputs],
        "hourly": [{"hour": _iso(h), "cold_p95_ms": c, "cold_count": cn, "warm_p95_ms": w, "warm_count": wn}
                   for h, c, cn, w, wn in result.hourly],
    }


def json_text(result: SoakResult) -> str:
    return json.dumps(to_json(result), indent=2, ensure_ascii=False) + "\n"


def render_markdown(result: SoakResult, chart_path: str | None = None) -> str:
    """The decision and why first, then the tables an operator checks before trusting it."""
    gate = result.gate
    tally = result.tally
    c = counts(result)
    lines: List[str] = [f"# Soak decision: **{gate.decision}**", ""]
    lines.append(f"- Why: {gate.reason}.")
    lines.append(f"- Cold P95: {_ms(gate.cold_p95_ms)} ms over {gate.cold_samples:,} cold samples"
                 + (f" of {_code(gate.cmd)}" if gate.cmd else " (all commands)") + ".")
    if gate.baseline_cold_ping_ms is not None:
        lines.append(f"- Threshold: {gate.factor:g} × baseline cold ping {gate.baseline_cold_ping_ms:g} ms = {_ms(gate.threshold_ms)} ms.")
    lines.append(f"- Minimum cold samples to decide: {gate.min_cold_samples}.")
    first, last = _iso(tally.first_ms), _iso(tally.last_ms)
    if first and last:
        hours = (tally.last_ms - tally.first_ms) / 3_600_000  # type: ignore[operator]
        lines.append(f"- Time span covered: {first} → {last} ({hours:.1f} h).")
    else:
        lines.append("- Time span covered: unknown (no timestamps).")
    lines += ["", "## Latency per command", "",
              "| cmd | cold | n | p50 ms | p95 ms | p99 ms | max ms | note |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for g in result.groups:
        s = g.summary
        note = f"n < {P99_MIN_SAMPLES}: p99 is about the largest values" if s.count < P99_MIN_SAMPLES else ""
        if s.count == 1:
            note = "one sample: all percentiles equal it"
        lines.append(f"| {_code(g.cmd)} | {'cold' if g.cold else 'warm'} | {s.count:,} | {_ms(s.p50)} | {_ms(s.p95)} | {_ms(s.p99)} | {_ms(s.max)} | {note} |")
    if not result.groups:
        lines.append("| — | — | 0 | — | — | — | — | no cmd_timing events found |")
    lines += ["", "## Failures and counts", "", "| what | count |", "|---|---:|"]
    labels = [
        ("records read", "records"), ("cmd_timing events", "cmd_timing"),
        ("CPU limit exceeded (invocations, outcome exceededCpu)", "cpu_time_exceeded"),
        ("dual-write secondary failures (log entries)", "dual_write_failures"),
        ("Mongo connection errors (log entries)", "mongo_connection_errors"),
        ("malformed records", "malformed"), ("cmd_timing without `cold` (grouped as warm)", "cold_unknown"),
        ("records of an unknown shape", "unrecognized"), ("events outside --since/--until", "outside_window"),
    ]
    if c["kept_without_time"]:
        labels.append(("events without a readable time (kept: --since/--until could not place them)", "kept_without_time"))
    for label, key in labels:
        lines.append(f"| {label} | {c[key]:,} |")
    for outcome, n in c["outcomes"].items():
        lines.append(f"| invocations with outcome {_code(outcome)} | {n:,} |")
    if result.hourly:
        lines += ["", "## P95 per hour (UTC)", "", "| hour | cold n | cold p95 ms | warm n | warm p95 ms |", "|---|---:|---:|---:|---:|"]
        for hour, cold, cn, warm, wn in result.hourly:
            lines.append(f"| {_iso(hour)[:13]}:00 | {cn:,} | {_ms(cold)} | {wn:,} | {_ms(warm)} |")  # type: ignore[index]
    if chart_path:
        lines += ["", "## Chart", "", f"![cold vs warm latency and p95 per hour]({chart_path})"]
    lines += ["", "## Inputs", "", "| input | container | records | malformed | shapes |", "|---|---|---:|---:|---|"]
    for i in result.inputs:
        shapes = ", ".join(f"{k} {v:,}" for k, v in sorted(i.formats.items())) or "—"
        lines.append(f"| {_code(i.name)} | {i.container} | {i.records:,} | {i.malformed:,} | {shapes} |")
    lines += ["", "Percentiles are exact: linear interpolation between closest ranks (type 7, as numpy, k6 and DuckDB `quantile_cont`).", ""]
    return "\n".join(lines)
