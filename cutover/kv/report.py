"""What backfill-kv tells the operator: one line per module, the summary (stdout, or stderr when
stdout carries the JSON) and the `--json` document."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Any, Dict, List, Sequence

from cutover.core.console import Console
from cutover.core.fsutil import write_output
from cutover.core.progress import format_duration
from cutover.kv.dryrun import estimate_seconds
from cutover.kv.options import Settings
from cutover.kv.problems import ProblemLog
from cutover.kv.record import INVALID_REASONS, ModuleSpec
from cutover.kv.stats import ModuleStats
from cutover.mongo import jsvalue


class Reporter:
    """Collects the module lines of one run and writes the summary at its end."""

    def __init__(self, settings: Settings, console: Console, window_budget: int) -> None:
        self.s = settings
        self.console = console
        self.window_budget = window_budget
        self.lines: List[str] = []

    def module_line(self, spec: ModuleSpec, st: ModuleStats, oversized: Sequence[str] = ()) -> None:
        """`oversized`: keys of an --emit file too big for one bulk request."""
        invalid = ""
        if st.invalid:
            parts = ", ".join(f"{r} {st.invalid_by_reason[r]:,}" for r in INVALID_REASONS if st.invalid_by_reason.get(r))
            invalid = f" ({parts})"
        verb = "would write" if self.s.dry_run else ("emitted" if self.s.emit else "written")
        line = (f"{spec.name}: {st.documents:,} documents, {verb} {st.written:,} ({size_text(st.bytes)}), "
                f"expired skipped {st.expired:,}, invalid {st.invalid:,}{invalid}, failed {st.failed:,}")
        if st.superseded:
            line += f", {st.superseded:,} superseded by a later document with the same key"
        if st.single_puts:
            from cutover.kv.api import BULK_MAX_BYTES

            went = "would go" if self.s.dry_run else "went"
            line += (f"; {st.single_puts:,} too big for a bulk request (the escaped pair is over "
                     f"{BULK_MAX_BYTES // 1_000_000} MB) {went} by single-key PUT")
        if self.s.dry_run and not self.s.emit:
            line += self._estimate(st)
        elif not self.s.emit:
            line += f"; {st.requests:,} requests, {st.retries:,} retries, {format_duration(st.elapsed_s)}"
        if self.s.emit and not self.s.dry_run:
            line += self._apply_with(spec, oversized)
        self.lines.append(line)
        self.console.debug(line)

    def _estimate(self, st: ModuleStats) -> str:
        per_second = self.s.rate if self.s.mode == "put" else None
        secs = estimate_seconds(st.requests, per_second, self.window_budget, self.s.api_window)
        kind = "bulk request(s)" if self.s.mode == "bulk" else "PUT(s)"
        return (f"; would send {st.requests:,} {kind}, >= {format_duration(secs)} under the budget of "
                f"{self.window_budget:,} per {format_duration(self.s.api_window)}")

    def _apply_with(self, spec: ModuleSpec, oversized: Sequence[str]) -> str:
        from cutover.kv.api import BULK_MAX_BYTES
        from cutover.kv.emit import emit_path

        assert self.s.emit is not None
        path = emit_path(self.s.emit, spec.name, len(self.s.modules) > 1)
        if oversized:
            self.console.warn(
                f"{spec.name}: {len(oversized):,} pair(s) in {path} are over {BULK_MAX_BYTES // 1_000_000} MB "
                f"(e.g. key {json.dumps(oversized[0])}), more than one bulk request may carry: wrangler will "
                "fail on them; run backfill-kv against the API instead (it writes them by single-key PUT)")
        return (f"\n  apply with: wrangler kv bulk put {path} --namespace-id {spec.namespace_id} --remote"
                "   (TTLs count from now: apply it within minutes)")

    def summary(self, stats: Dict[str, ModuleStats], client: Any, runs: int, elapsed: float, total_elapsed: float,
                failed: int, problems: ProblemLog) -> None:
        """One source of truth: the module counters, carried through the checkpoint, cover the
        whole job; the totals are their sums, the headline time the job's (all runs)."""
        # Rounded once: the headline formats the very seconds the JSON reports (1.4996 s was
        # "1s" in one and 1.5 = "2s" in the other).
        elapsed, total_elapsed = round(elapsed, 3), round(total_elapsed, 3)
        doc = {
            "ok": failed == 0,
            "dry_run": self.s.dry_run,
            "mode": "emit" if self.s.emit else self.s.mode,
            "modules": {name: asdict(st) for name, st in stats.items()},
            "requests": sum(s.requests for s in stats.values()),
            "retries": sum(s.retries for s in stats.values()),
            "throttled": client.stats.throttled if client else 0,
            "elapsed_s": total_elapsed,
            "runs": runs,
            "this_run": {
                "elapsed_s": elapsed,
                "requests": client.stats.requests if client else sum(s.requests for s in stats.values()),
                "retries": client.stats.retries if client else 0,
            },
            "budget_per_window": self.window_budget,
            "failed_keys_file": problems.path if problems.count and problems.path else None,
        }
        total_written = sum(s.written for s in stats.values())
        head = "DRY RUN: " if self.s.dry_run else ""
        verdict = "OK" if failed == 0 else f"FAILED ({failed:,} keys)"
        # The summary is the result: stdout, unless stdout carries the JSON.
        out = sys.stderr if self.s.json_path == "-" else sys.stdout
        verb = "to write" if self.s.dry_run else ("emitted for wrangler" if self.s.emit else "written")
        more = f" over {runs} runs (this one {format_duration(elapsed)})" if runs > 1 else ""
        out.write(f"{head}backfill-kv {verdict}: {total_written:,} keys {verb} in {format_duration(total_elapsed)}{more}\n")
        for line in self.lines:
            out.write(line + "\n")
        out.flush()
        if problems.count and problems.path:
            what = " and ".join(f"{n:,} {label}" for kind, label in (("failed", "failed key(s)"), ("invalid", "invalid document(s)"))
                                for n in [problems.by_kind.get(kind, 0)] if n)
            self.console.warn(f"{what} listed in {problems.path}")
        if self.s.json_path:
            write_output(self.s.json_path, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def shown_id(doc_id: Any) -> str:
    try:
        return json.dumps(jsvalue.to_plain(doc_id))
    except TypeError:
        return repr(doc_id)


def size_text(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000.0  # type: ignore[assignment]
    return f"{n} B"
