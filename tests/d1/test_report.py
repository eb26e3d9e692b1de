"""backfill-d1's report text and JSON summary, from a real plan."""
from __future__ import annotations

from cutover.d1.options import BackfillD1Options
from cutover.d1.plan import D1Planner, PlanOptions
from cutover.d1.report import report_text, summary_json
from cutover.d1.schema import parse_schema
from cutover.d1.settings import Settings

TABLE = parse_schema("CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT, qty REAL);")["t"]
SETTINGS = Settings(source="export:.", mongo_database="bot", data_source=None, collection="docs", table_name="t",
                    id_column="id", legacy_id_field="legacy_id", database=None, database_id=None,
                    since_field="updatedAt")


def plan():
    planner = D1Planner(PlanOptions(TABLE))
    for doc in ({"_id": 1, "legacy_id": 5, "note": "a", "qty": float("inf")}, {"_id": 2, "note": "b", "colour": 1}):
        planner.add(doc)
    return planner.plan()


def test_summary_counts_and_options():
    summary = summary_json(plan(), SETTINGS, "export:.", BackfillD1Options(mode="api", output="x.sql"), bad_lines=3)
    assert (summary["documents"], summary["rows"], summary["bad_lines"], summary["ok"]) == (2, 2, 3, True)
    assert (summary["mode"], summary["output"], summary["dry_run"]) == ("api", "x.sql", False)
    assert summary["ids"]["legacy"] == {"count": 1, "min": 5, "max": 5} and summary["ids"]["base"] == 6
    assert summary["warnings"]["non_finite_float"]["count"] == 1 and summary["unmapped_fields"] == {"colour": 1}
    dry = summary_json(plan(), SETTINGS, "export:.", BackfillD1Options(dry_run=True))
    assert dry["output"] is None and dry["bad_lines"] == 0


def test_report_text_leads_with_what_was_done():
    text = report_text(plan(), SETTINGS, "export:.", 1, True, "out.sql")
    first = text.splitlines()[0]
    assert first == "backfill-d1 DRY RUN (nothing written): 2 documents from export:. (docs) -> D1 table t"
    assert "would be written to out.sql" in text and "1 legacy ids kept (5..5)" in text
    assert "NaN/±Infinity written as NULL" in text and "first statement that writes rows" in text
    assert "written to out.sql" in report_text(plan(), SETTINGS, "export:.", 1, False, "out.sql")
