"""Waves of synthetic updates, guarded by Atlas connection readings; returns the report dict."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from cutover.burst.connections import ConnectionGuard, DuringWave
from cutover.burst.report import summarize, wave_json
from cutover.burst.target import Target
from cutover.burst.updates import UpdateFactory
from cutover.burst.wire import PreparedRequest, WaveResult, fire_wave
from cutover.core.http import USER_AGENT
from cutover.errors import CutoverError

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

OK, ABORTED, FAILED, INTERRUPTED = "OK", "ABORTED", "FAILED", "INTERRUPTED"


@dataclass(frozen=True)
class BurstPlan:
    target: Target
    command: str
    n: int
    waves: int
    wave_interval: float
    timeout: float
    secret: str | None
    atlas_settle: float = 0.0


def request_headers(secret: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Connection": "close"}
    if secret:
        headers[SECRET_HEADER] = secret
    return headers


def prepare_wave(factory: UpdateFactory, wave_index: int, n: int) -> list[PreparedRequest]:
    """The N updates of one wave; sequence numbers continue across waves so all stay distinct."""
    prepared = []
    for i in range(n):
        seq = wave_index * n + i
        update = factory.build(seq)
        body = json.dumps(update, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        prepared.append(PreparedRequest(seq, update["update_id"], factory.cache_token(seq), body))
    return prepared


def _headline(result: dict[str, Any], guard: ConnectionGuard | None) -> str:
    s = result["summary"]
    decision = result["decision"]
    atlas = ""
    if guard is not None and guard.peak is not None:
        cmp = ">" if guard.exceeded else "<="
        atlas = f"Atlas connections peak {guard.peak:g} {cmp} {guard.threshold:g} ({guard.max_pct:g}% of {guard.cap:g})"
    if decision == ABORTED:
        unsent = result["waves_planned"] - result["waves_sent"]
        return f"synthetic-burst: ABORTED - {atlas}; {unsent} of {result['waves_planned']} waves not sent"
    if decision == FAILED:
        return f"synthetic-burst: FAILED - {result.get('failure') or 'no request got an HTTP response'}"
    if decision == INTERRUPTED:
        during = result.get("interrupted_in_wave")
        where = f" during wave {during} (its requests may have been sent; their results are lost)" if during else ""
        return f"synthetic-burst: INTERRUPTED after {result['waves_sent']} of {result['waves_planned']} complete waves{where}"
    p95 = "-" if s["p95_ms"] is None else f"{s['p95_ms']:,.1f} ms"
    text = f"synthetic-burst: OK - {s['responses']}/{s['requests']} answered ({s['ok_2xx']} 2xx), p95 {p95}"
    return text + (f"; {atlas}" if atlas else "")


def run_burst(
    plan: BurstPlan,
    factory: UpdateFactory,
    guard: ConnectionGuard | None = None,
    notify: Callable[[str], None] = lambda _m: None,
    sleep: Callable[[float], None] = time.sleep,
    fire: Callable[..., WaveResult] = fire_wave,
) -> dict[str, Any]:
    """Send up to `plan.waves` waves; stop early when Atlas shows the cap exceeded."""
    headers = request_headers(plan.secret)
    waves: list[tuple[int, WaveResult]] = []
    decision = OK
    failure: str | None = None
    in_flight: int | None = None  # the wave being sent when interrupted
    try:
        if guard is not None and guard.read("before").value.points == 0:
            # Without a baseline the guard would be blind: refuse rather than burst unwatched.
            raise CutoverError(
                f"Atlas has no CONNECTIONS data for {guard.process} in the last 5 minutes; "
                "is --atlas-process the HOST:PORT of a running mongod in this project?"
            )
        for k in range(plan.waves):
            if guard is not None and guard.exceeded:
                break
            requests = prepare_wave(factory, k, plan.n)
            in_flight = k + 1
            notify(f"wave {k + 1}/{plan.waves}: opening {plan.n} connections to {plan.target.shown}")
            if guard is not None:
                with DuringWave(guard, f"during wave {k + 1}") as poller:
                    wave = fire(plan.target, requests, headers, plan.timeout)
                if poller.error is not None:
                    raise poller.error
            else:
                wave = fire(plan.target, requests, headers, plan.timeout)
            waves.append((k + 1, wave))
            in_flight = None
            done = sum(1 for o in wave.outcomes if o.status is not None)
            notify(f"wave {k + 1}/{plan.waves}: {done}/{plan.n} answered in {wave.duration_ms:,.0f} ms")
            last = k + 1 == plan.waves
            if guard is not None:
                guard.read(f"after wave {k + 1}")
                guard.watch(f"after wave {k + 1}", plan.atlas_settle if last else plan.wave_interval, sleep)
            elif not last:
                sleep(plan.wave_interval)
        if guard is not None and guard.exceeded:
            decision = ABORTED
    except CutoverError as exc:
        stop = "no further waves" if waves else "nothing sent"
        decision, failure = FAILED, f"Atlas reading failed, {stop}: {exc}"
    except KeyboardInterrupt:
        decision = INTERRUPTED

    outcomes = [o for _, w in waves for o in w.outcomes]
    summary = summarize(outcomes)
    skews = [w.release_skew_ms for _, w in waves if w.release_skew_ms is not None]
    summary["release_skew_ms_max"] = round(max(skews), 3) if skews else None
    if decision == OK and outcomes and summary["responses"] == 0:
        kinds = ", ".join(f"{n} {k}" for k, n in summary["error_kinds"].items())
        decision, failure = FAILED, f"no request got an HTTP response ({kinds})"
    result: dict[str, Any] = {
        "decision": decision,
        "url": plan.target.shown,
        "command": plan.command,
        "n": plan.n,
        "waves_planned": plan.waves,
        "waves_sent": len(waves),
        "timeout_s": plan.timeout,
        "secret_header_sent": bool(plan.secret),
        "summary": summary,
        "atlas": guard.json() if guard is not None else None,
        "waves": [wave_json(number, wave) for number, wave in waves],
    }
    if failure:
        result["failure"] = failure
    if decision == INTERRUPTED and in_flight is not None:
        result["interrupted_in_wave"] = in_flight
    result["headline"] = _headline(result, guard)
    return result
