"""soak-watch's outputs: analyze-soak's report, JSON and chart, plus the watch and the stop."""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List

from cutover.core.timespec import iso_ms
from cutover.soak import report, svg
from cutover.soak.analyze import SoakResult
from cutover.soak.gate import PIVOT
from cutover.soakwatch.conditions import Limits, Stop, hour_label


def stop_json(stop: Stop | None) -> Dict[str, Any] | None:
    if stop is None:
        return None
    return {"condition": stop.condition, "hour": None if stop.hour_ms is None else hour_label(stop.hour_ms), "detail": stop.detail}


def with_stop(result: SoakResult, stop: Stop | None) -> SoakResult:
    """A stop-condition makes the decision PIVOT, with the condition as the reason."""
    if stop is None:
        return result
    gate = dataclasses.replace(result.gate, decision=PIVOT, reason=f"stop-condition {stop.condition}: {stop.detail}")
    return dataclasses.replace(result, gate=gate)


def limits_json(limits: Limits, atlas: Dict[str, Any] | None) -> Dict[str, Any]:
    out: Dict[str, Any] = dataclasses.asdict(limits)
    out["threshold_ms"] = limits.threshold_ms
    out["atlas"] = atlas
    return out


def to_json(result: SoakResult, stop: Stop | None, watch: Dict[str, Any]) -> Dict[str, Any]:
    doc = report.to_json(with_stop(result, stop))
    doc["stop"] = stop_json(stop)
    doc["watch"] = watch
    return doc


def json_text(result: SoakResult, stop: Stop | None, watch: Dict[str, Any]) -> str:
    return json.dumps(to_json(result, stop, watch), indent=2, ensure_ascii=False) + "\n"


def _watch_section(stop: Stop | None, watch: Dict[str, Any], limits: Limits) -> List[str]:
    lines = ["## Watch", ""]
    state = "final" if watch.get("final") else "in progress — figures so far, rewritten after each pull"
    lines.append(f"- Status: {state}; {watch.get('pulls', 0):,} pull(s); events up to {watch.get('events_until') or '—'}.")
    if stop is not None:
        hour = f" (hour {hour_label(stop.hour_ms)})" if stop.hour_ms is not None else ""
        lines.append(f"- **Stopped by `{stop.condition}`**{hour}: {stop.detail}.")
    else:
        lines.append("- No stop-condition has fired.")
    threshold = f"{limits.threshold_ms:,.1f} ms" if limits.threshold_ms is not None else "no baseline: off"

    def pct(value: float | None) -> str:
        return "off" if value is None else f"> {value:g} %"

    lines += [
        "", "| stop-condition | limit |", "|---|---|",
        f"| {'cold ' + limits.gate_cmd if limits.gate_cmd else 'cold'} P95 above the threshold ({threshold}) | {limits.stop_hours} consecutive hours, each ≥ {limits.min_cold_samples} cold samples |",
        f"| Mongo connection errors per cmd_timing in an hour | {pct(limits.max_mongo_error_pct)} and ≥ {limits.min_failures} |",
        f"| dual-write failures per cmd_timing in an hour | {pct(limits.max_dual_write_pct)} and ≥ {limits.min_failures} |",
        f"| exceededCpu invocations per cmd_timing in an hour | {pct(limits.max_cpu_exceeded_pct)} and ≥ {limits.min_failures} |",
    ]
    atlas = watch.get("atlas")
    if atlas:
        lines.append(f"| Atlas connections | > {atlas['max_pct']:g} % of the cap {atlas['cap']:g} (peak seen {atlas.get('peak')}) |")
    else:
        lines.append("| Atlas connections | off (no --atlas-group/--atlas-process) |")
    return lines + [""]


def markdown(result: SoakResult, stop: Stop | None, watch: Dict[str, Any], limits: Limits, chart_path: str | None) -> str:
    text = report.render_markdown(with_stop(result, stop), chart_path)
    section = "\n".join(_watch_section(stop, watch, limits))
    head, sep, rest = text.partition("\n## ")
    return head + "\n" + section + sep + rest if sep else text + "\n" + section


def chart(result: SoakResult, stop: Stop | None) -> str:
    shown = with_stop(result, stop)
    title = f"Soak watch: {shown.decision} — cold n={len(result.cold_values):,}, warm n={len(result.warm_values):,}"
    return svg.chart(result.cold_values, result.warm_values, result.hourly, title, result.gate.threshold_ms)


def iso(ms: int | None) -> str | None:
    return iso_ms(ms)
