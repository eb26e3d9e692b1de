"""backfill-d1's report: the text an operator reads (counts, ids, mapping, warnings, errors, and
on a dry run the first statement) and the --json summary."""
from __future__ import annotations

from typing import Any, Dict, List

from cutover.d1 import ids as d1ids
from cutover.d1 import sql
from cutover.d1.findings import Issue, Report
from cutover.d1.options import BackfillD1Options
from cutover.d1.plan import Plan
from cutover.d1.settings import Settings

WARNING_TEXT = {
    sql.NOTE_NON_FINITE: "NaN/±Infinity written as NULL",
    sql.NOTE_UNSAFE_INTEGER: "integers beyond ±2^53: exact in D1, but D1's JSON API and Workers read them rounded",
    sql.NOTE_SURROGATE_REPLACED: "lone surrogates replaced by U+FFFD",
    sql.NOTE_DATE_OUT_OF_RANGE: "dates outside JavaScript's range (±8.64e15 ms)",
}
ERROR_TEXT = {
    "unwritable_value": "values D1 cannot store as they are",
    "bad_legacy_id": "legacy ids that are not integers",
    "duplicate_legacy_id": "legacy ids used by more than one document",
    "duplicate_id": "documents whose _id appears more than once in the source",
    "row_too_large": "documents over D1's 2 MB row limit",
    "not_null_without_value": "documents without a value for a NOT NULL column",
    "unfilled_not_null_column": "NOT NULL columns that no Mongo field fills",
    "id_overflow": "assigned ids beyond 64 bits",
}


def _fmt_bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1_000_000 else (f"{n / 1e3:.1f} kB" if n >= 1000 else f"{n} bytes")


def _ids_line(report: Report, start_id: int) -> str:
    parts = []
    if report.legacy_ids:
        parts.append(f"{report.legacy_ids:,} legacy ids kept ({report.legacy_min}..{report.legacy_max})")
    else:
        parts.append("no legacy ids")
    if report.assigned:
        parts.append(
            f"{report.assigned:,} documents without one: their ids are given when the SQL is applied, through "
            f"D1's {d1ids.MAP_TABLE} table (an id given once is kept; a new one goes above every id the table "
            f"and the map hold, and at least {report.base_id} = max(largest legacy id, --start-id {start_id} - 1) + 1)"
        )
    return "; ".join(parts)


def _issue_lines(title: str, issues: Dict[str, Issue], texts: Dict[str, str], limit: int) -> List[str]:
    lines = []
    if issues:
        lines.append(f"{title}:")
        for kind, issue in issues.items():
            lines.append(f"  {issue.count:,} x {texts.get(kind, kind)}")
            for example in issue.examples[:limit]:
                lines.append(f"      {example}")
            if issue.count > min(limit, len(issue.examples)):
                lines.append(f"      … {issue.count - min(limit, len(issue.examples)):,} more")
    return lines


def report_text(plan: Plan, settings: Settings, source: str, start_id: int, dry_run: bool, output: str) -> str:
    r = plan.report
    head = "DRY RUN (nothing written): " if dry_run else ""
    lines = [
        f"backfill-d1 {head}{r.documents:,} documents from {source} ({settings.collection}) -> D1 table {settings.table_name}",
        f"rows: {r.rows:,} in {r.statements:,} statements ({_fmt_bytes(r.bytes)}) "
        + ("would be written to " if dry_run else "written to ") + output,
        f"ids: {_ids_line(r, start_id)}",
    ]
    if r.split_values:
        lines.append(f"large values: {r.split_values:,} too big for one statement, appended in pieces (UPDATE … || …)")
    lines.append("columns written: " + ", ".join(plan.columns))
    for column, fields in r.mapping.items():
        if list(fields) != [column]:
            lines.append(f"  {column} <- " + ", ".join(f"{f} ({n:,})" for f, n in fields.items()))
    if r.unmapped_fields:
        shown = list(r.unmapped_fields.items())[:15]
        lines.append("fields with no column (not written): " + ", ".join(f"{f} ({n:,})" for f, n in shown)
                     + (" …" if len(r.unmapped_fields) > 15 else ""))
    if r.unfilled_columns:
        lines.append("columns no field fills (left to D1's default / existing value): " + ", ".join(r.unfilled_columns))
    lines += _issue_lines("warnings", r.warnings, WARNING_TEXT, 3)
    lines += _issue_lines("errors", r.errors, ERROR_TEXT, 20)
    if dry_run and plan.first_row_statement < len(plan.statements):
        first = plan.statements[plan.first_row_statement]
        size = len(first.encode("utf-8"))
        shown_text = first if len(first) <= 2000 else first[:2000] + f"\n… ({size:,} bytes in all)"
        lines.append(f"first statement that writes rows (of {len(plan.statements):,}; "
                     f"{plan.report.map_statements:,} before it fill the id map):")
        lines.append(shown_text)
    return "\n".join(lines) + "\n"


def summary_json(plan: Plan, settings: Settings, source: str, options: BackfillD1Options, bad_lines: int = 0) -> Dict[str, Any]:
    """The --json summary (documented in docs/reference.md); `api` / `execute_status` are added after execution."""
    r = plan.report

    def issues(d: Dict[str, Issue]) -> Dict[str, Any]:
        return {k: {"count": i.count, "examples": i.examples} for k, i in d.items()}

    return {
        "table": settings.table_name,
        "collection": settings.collection,
        "source": source,
        "dry_run": options.dry_run,
        "mode": options.mode,
        "output": None if options.dry_run else options.output,
        "documents": r.documents,
        "bad_lines": bad_lines,
        "rows": r.rows,
        "statements": r.statements,
        "bytes": r.bytes,
        "split_values": r.split_values,
        "ids": {
            "base": r.base_id,
            "map_table": d1ids.MAP_TABLE,
            "legacy": {"count": r.legacy_ids, "min": r.legacy_min, "max": r.legacy_max},
            "assigned": {"count": r.assigned, "first": r.assigned_first, "last": r.assigned_last},
        },
        "columns": plan.columns,
        "mapping": r.mapping,
        "unmapped_fields": r.unmapped_fields,
        "unfilled_columns": r.unfilled_columns,
        "warnings": issues(r.warnings),
        "errors": issues(r.errors),
        "ok": r.error_count == 0,
    }
