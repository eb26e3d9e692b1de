"""The burst report: per-request lines, status and error distributions, p50/p95/max, skew."""
from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

from cutover.burst.wire import Outcome, WaveResult
from cutover.core.stats import percentile_sorted


def percentile(values: Sequence[float], q: float) -> float | None:
    """Type-7 percentile of unsorted `values` (the soak analysis's own definition); None when empty."""
    return percentile_sorted(sorted(values), q)


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def summarize(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Counts, latency percentiles (responses only) and the two distributions."""
    latencies = sorted(o.latency_ms for o in outcomes if o.status is not None and o.latency_ms is not None)
    statuses = Counter(str(o.status) for o in outcomes if o.status is not None)
    errors = Counter(o.error for o in outcomes if o.error is not None)
    return {
        "requests": len(outcomes),
        "responses": sum(statuses.values()),
        "ok_2xx": sum(1 for o in outcomes if o.ok),
        "errors": sum(errors.values()),
        "min_ms": _r(min(latencies)) if latencies else None,
        "mean_ms": _r(sum(latencies) / len(latencies)) if latencies else None,
        "p50_ms": _r(percentile_sorted(latencies, 0.50)),
        "p95_ms": _r(percentile_sorted(latencies, 0.95)),
        "max_ms": _r(max(latencies)) if latencies else None,
        "status_codes": dict(sorted(statuses.items())),
        "error_kinds": dict(sorted(errors.items())),
    }


def outcome_json(o: Outcome) -> dict[str, Any]:
    return {
        "seq": o.seq,
        "update_id": o.update_id,
        "cache_token": o.cache_token,
        "status": o.status,
        "latency_ms": _r(o.latency_ms),
        "ttfb_ms": _r(o.ttfb_ms),
        "connect_ms": _r(o.connect_ms),
        "response_bytes": o.response_bytes,
        "error": o.error,
        "error_detail": o.error_detail,
    }


def wave_json(number: int, wave: WaveResult) -> dict[str, Any]:
    return {
        "wave": number,
        "released_at": iso(wave.started_wall),
        "release_skew_ms": _r(wave.release_skew_ms),
        "release_lag_ms": _r(wave.release_lag_ms),
        "connect_ms_max": _r(wave.connect_ms_max),
        "duration_ms": _r(wave.duration_ms),
        **summarize(wave.outcomes),
        "requests_detail": [outcome_json(o) for o in wave.outcomes],
    }


def iso(epoch: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} ms"


def render_wave(wave: dict[str, Any], verbose_rows: bool = True) -> list[str]:
    lines = [
        f"Wave {wave['wave']}: {wave['requests']} requests released {wave['released_at']}, "
        f"skew {_ms(wave['release_skew_ms'])}, took {_ms(wave['duration_ms'])}",
        f"  Latency   p50 {_ms(wave['p50_ms'])}   p95 {_ms(wave['p95_ms'])}   max {_ms(wave['max_ms'])}   "
        f"min {_ms(wave['min_ms'])}   mean {_ms(wave['mean_ms'])}",
        "  Status code distribution:",
    ]
    if wave["status_codes"]:
        lines += [f"    [{code}] {count} responses" for code, count in wave["status_codes"].items()]
    else:
        lines.append("    (no responses)")
    if wave["error_kinds"]:
        lines.append("  Error distribution:")
        lines += [f"    [{count}] {kind}" for kind, count in wave["error_kinds"].items()]
    if verbose_rows:
        lines.append("  Requests:")
        lines.append(f"    {'seq':>4}  {'update_id':>16}  {'status':>6}  {'latency':>12}  error")
        for r in wave["requests_detail"]:
            status = "-" if r["status"] is None else str(r["status"])
            error = "" if r["error"] is None else f"{r['error']}: {r['error_detail']}"
            lines.append(f"    {r['seq']:>4}  {r['update_id']:>16}  {status:>6}  {_ms(r['latency_ms']):>12}  {error}")
    return lines


def render(result: dict[str, Any]) -> str:
    """The human report; leads with the decision and the number that drove it."""
    lines = [result["headline"], ""]
    s = result["summary"]
    lines.append(
        f"Target {result['url']}  command {result['command']}  {result['n']} per wave, "
        f"{result['waves_sent']}/{result['waves_planned']} waves sent"
    )
    lines.append(
        f"All waves: {s['responses']}/{s['requests']} responses, {s['ok_2xx']} 2xx, {s['errors']} errors; "
        f"p50 {_ms(s['p50_ms'])}, p95 {_ms(s['p95_ms'])}, max {_ms(s['max_ms'])}; "
        f"worst release skew {_ms(s['release_skew_ms_max'])}"
    )
    atlas = result.get("atlas")
    if atlas:
        lines.append("")
        lines.append(
            f"Atlas connections ({atlas['process']}): threshold {atlas['threshold']:g} "
            f"({atlas['max_pct']:g}% of {atlas['cap']:g}), peak seen {_num(atlas['peak'])}"
        )
        for reading in atlas["readings"]:
            lines.append(
                f"  {reading['phase']:<16} at {reading['at']}  latest {_num(reading['latest'])}  "
                f"peak {_num(reading['peak'])}  ({reading['points']} points)"
            )
    for wave in result["waves"]:
        lines.append("")
        lines += render_wave(wave)
    return "\n".join(lines) + "\n"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
