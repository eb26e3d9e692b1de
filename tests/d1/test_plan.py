"""Planning: ids, column mapping, statement limits; the generated SQL is checked in SQLite."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cutover.d1 import sql
from cutover.d1.plan import D1Planner, PlanOptions, render_file
from cutover.d1.schema import parse_schema
from cutover.mongo.values import DateTime, Int64, ObjectId
from tests.support import sqlite as sqlite_support

DDL = (
    "CREATE TABLE trading_trades (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL DEFAULT 'nobody', symbol TEXT, "
    "qty REAL, price NUMERIC, created_at TEXT, ts INTEGER, note TEXT, meta TEXT, is_open INTEGER DEFAULT 0, raw BLOB);"
)
TABLE = parse_schema(DDL)["trading_trades"]


def oid(n: int, t: int = 0x65A00000) -> ObjectId:
    return ObjectId(t.to_bytes(4, "big") + n.to_bytes(8, "big"))


def planner(**kw) -> D1Planner:
    return D1Planner(PlanOptions(TABLE, **kw))


def apply(statements_text: str, conn=None):
    conn = conn or sqlite_support.connect()
    if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
        conn.execute(DDL)
    conn.executescript(statements_text)
    return conn


def dump(conn) -> list[tuple]:
    cols = "id, user_id, symbol, qty, price, created_at, ts, note, meta, is_open, raw"
    return list(conn.execute(f"SELECT {cols} FROM trading_trades ORDER BY id"))


def plan_text(docs, **kw) -> tuple[str, object]:
    p = planner(**kw)
    p.add_all(docs)
    plan = p.plan()
    return render_file(plan), plan


def test_legacy_ids_kept_and_new_ids_follow_in_objectid_order():
    docs = [
        {"_id": oid(5, 0x65A00003), "userId": "c"},
        {"_id": oid(1), "legacy_id": 40, "userId": "a"},
        {"_id": oid(9, 0x65A00001), "userId": "b"},
        {"_id": "text-id", "userId": "d"},
        {"_id": oid(2), "legacy_id": Int64(7), "userId": "e"},
    ]
    text, plan = plan_text(docs)
    rows = dump(apply(text))
    assert [(r[0], r[1]) for r in rows] == [(7, "e"), (40, "a"), (41, "b"), (42, "c"), (43, "d")]
    r = plan.report
    # new ids are given when the SQL is applied (first/last unknown when it is written)
    assert (r.legacy_ids, r.legacy_min, r.legacy_max, r.assigned, r.assigned_first, r.assigned_last) == (2, 7, 40, 3, None, None)
    assert r.base_id == 41
    # input order does not matter: same file
    shuffled = docs[:]
    random.Random(3).shuffle(shuffled)
    assert plan_text(shuffled)[0] == text


def test_start_id_raises_the_base_only_upward():
    docs = [{"_id": oid(1), "legacy_id": 10, "userId": "a"}, {"_id": oid(2), "userId": "b"}]
    assert dump(apply(plan_text(docs, start_id=1000)[0]))[1][0] == 1000
    assert dump(apply(plan_text(docs, start_id=5)[0]))[1][0] == 11


def test_duplicate_legacy_ids_are_an_error_listing_them():
    docs = [{"_id": oid(i), "legacy_id": 3 if i < 3 else 10 + i, "userId": "x"} for i in range(5)]
    _, plan = plan_text(docs)
    issue = plan.report.errors["duplicate_legacy_id"]
    assert issue.count == 1
    assert "legacy_id 3 is used by 3 documents" in issue.examples[0]
    assert oid(0).hex in issue.examples[0] and oid(2).hex in issue.examples[0]


@pytest.mark.parametrize("bad", ["abc", 1.5, True, {"x": 1}, 2**64])
def test_bad_legacy_ids(bad):
    _, plan = plan_text([{"_id": oid(1), "legacy_id": bad, "userId": "a"}])
    assert plan.report.errors["bad_legacy_id"].count == 1


def test_legacy_id_forms_accepted():
    docs = [{"_id": oid(1), "legacy_id": "12", "userId": "a"}, {"_id": oid(2), "legacy_id": 13.0, "userId": "b"}]
    assert [r[0] for r in dump(apply(plan_text(docs)[0]))] == [12, 13]


def test_mapping_exact_name_then_snake_case_and_report():
    docs = [
        {"_id": oid(1), "legacy_id": 1, "userId": "camel", "user_id": "exact", "isOpen": True, "unknownField": 1},
        {"_id": oid(2), "legacy_id": 2, "userId": "camel-only", "createdAt": DateTime(0), "ts": DateTime(1000)},
    ]
    text, plan = plan_text(docs)
    rows = dump(apply(text))
    assert [r[1] for r in rows] == ["exact", "camel-only"]
    assert rows[0][9] == 1 and rows[1][5] == "1970-01-01T00:00:00.000Z" and rows[1][6] == 1000
    # the first document's userId lost user_id to the exact name: its "camel" is written nowhere, so it is named
    assert plan.report.unmapped_fields == {"userId": 1, "unknownField": 1}
    assert plan.report.mapping["user_id"] == {"user_id": 1, "userId": 1}
    assert set(plan.report.unfilled_columns) == {"symbol", "qty", "price", "note", "meta", "raw"}
    assert "symbol" not in plan.columns


def test_not_null_defaults_and_errors():
    ddl = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT NOT NULL DEFAULT 'dflt', c TEXT NOT NULL);"
    table = parse_schema(ddl)["t"]
    p = D1Planner(PlanOptions(table))
    p.add_all([{"_id": oid(1), "a": "x", "b": None}, {"_id": oid(2), "b": "y"}])
    plan = p.plan()
    errors = plan.report.errors
    assert errors["not_null_without_value"].count == 1 and "column 'a'" in errors["not_null_without_value"].examples[0]
    assert errors["unfilled_not_null_column"].count == 1 and "'c'" in errors["unfilled_not_null_column"].examples[0]
    assert "'dflt'" in plan.statements[plan.first_row_statement]


def test_value_errors_name_the_document():
    _, plan = plan_text([{"_id": oid(1), "note": "bad \ud800", "qty": 2**70, "userId": "a"}])
    examples = plan.report.errors["unwritable_value"].examples
    assert any(oid(1).hex in e and "'note'" in e and "surrogate" in e for e in examples)
    assert any("'qty'" in e and "64-bit" in e for e in examples)
    assert plan.report.rows == 0


def test_rows_over_two_megabytes_are_refused():
    _, plan = plan_text([{"_id": oid(1), "note": "x" * 1_500_000, "meta": "y" * 600_000, "userId": "a"}])
    assert plan.report.errors["row_too_large"].count == 1
    assert oid(1).hex in plan.report.errors["row_too_large"].examples[0]


def test_large_values_are_appended_in_pieces_and_rerunnable():
    big_note = ("it's a long note; -- with SQL-ish text\n" * 8000) + "😀" * 5000
    big_raw = bytes(range(256)) * 700
    docs = [
        {"_id": oid(1), "legacy_id": 1, "userId": "a", "note": big_note, "raw": __import__("cutover.mongo.values", fromlist=["Binary"]).Binary(big_raw)},
        {"_id": oid(2), "legacy_id": 2, "userId": "b", "note": "small", "meta": {"k": "v" * 150_000}},
        {"_id": oid(3), "legacy_id": 3, "userId": "c", "note": "nul\x00" * 40_000},
    ]
    text, plan = plan_text(docs)
    assert all(len(s.encode("utf-8")) <= 100_000 for s in plan.statements)
    assert plan.report.split_values == 4
    assert "BEGIN" not in text.split("'")[0]
    conn = apply(text)
    rows = dump(conn)
    assert rows[0][7] == big_note and rows[0][10] == big_raw
    assert rows[1][8] == '{"k":"' + "v" * 150_000 + '"}'
    assert rows[2][7] == "nul\x00" * 40_000
    apply(text, conn)  # rerun: same result, no duplication of appended pieces
    assert dump(conn) == rows


json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
)
field_values = st.one_of(
    json_leaf,
    st.text(st.sampled_from(["'", ";", "-", "\x00", "a", "é", "😀", "\n"]), min_size=0, max_size=3000),
    st.lists(json_leaf, max_size=3),
    st.dictionaries(st.text(max_size=4), json_leaf, max_size=3),
    st.integers(0, 2**40).map(DateTime),
)
field_names = st.sampled_from(["userId", "user_id", "symbol", "qty", "price", "createdAt", "ts", "note", "meta", "isOpen", "other"])
documents = st.lists(
    st.tuples(st.booleans(), st.dictionaries(field_names, field_values, max_size=8)), min_size=1, max_size=25
)


def build_docs(spec):
    docs = []
    for i, (has_legacy, fields) in enumerate(spec):
        doc = {"_id": oid(i, 0x65A00000 + (i * 7919) % 101)}
        if has_legacy:
            doc["legacy_id"] = 1000 + i * 3
        doc.update(fields)
        docs.append(doc)
    return docs


def expected_rows(docs, start_id=1):
    """Independent model of ids + values: each value read back on its own through SQLite."""
    conn = sqlite_support.connect()
    legacy_max = max((d["legacy_id"] for d in docs if "legacy_id" in d), default=0)
    base = max(legacy_max, start_id - 1) + 1
    new = sorted((d for d in docs if "legacy_id" not in d), key=lambda d: d["_id"].binary)
    ids = {id(d): base + i for i, d in enumerate(new)}
    cols = [c for c in TABLE.columns if c.name != "id"]
    out = {}
    for d in docs:
        row_id = d.get("legacy_id", ids.get(id(d)))
        row = {}
        for c in cols:
            names = [n for n in d if n == c.name] or [n for n in d if n != c.name and sql_snake(n) == c.name]
            if not names:
                continue
            literal = sql.render(d[names[0]], sql.column_affinity(c.declared_type), sql.default_date_unit(c.declared_type))
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS probe_" + c.name + f" (v {c.declared_type})")
            conn.execute(f"DELETE FROM probe_{c.name}")
            conn.execute(f"INSERT INTO probe_{c.name} VALUES ({literal})")
            row[c.name] = conn.execute(f"SELECT v FROM probe_{c.name}").fetchone()[0]
            if row[c.name] is None and c.name == "user_id":
                row[c.name] = "nobody"  # NOT NULL column with a default
        out[row_id] = row
    return out


def sql_snake(name):
    from cutover.d1.schema import snake_case

    return snake_case(name)


@settings(max_examples=60, deadline=None)
@given(documents, st.integers(min_value=2000, max_value=6000), st.integers(min_value=1, max_value=3000))
def test_generated_sql_round_trips_within_the_size_limit(spec, limit, start_id):
    docs = build_docs(spec)
    text, plan = plan_text(docs, max_statement_bytes=limit, start_id=start_id)
    assert plan.report.error_count == 0
    assert all(len(s.encode("utf-8")) <= limit for s in plan.statements)
    assert not any(s.lstrip().upper().startswith(("BEGIN", "COMMIT")) for s in plan.statements)
    conn = apply(text)
    got = {r[0]: r for r in dump(conn)}
    want = expected_rows(docs, start_id)
    assert set(got) == set(want)
    names = ["id", "user_id", "symbol", "qty", "price", "created_at", "ts", "note", "meta", "is_open", "raw"]
    for row_id, values in want.items():
        for column, value in values.items():
            assert got[row_id][names.index(column)] == value, (row_id, column)
    before = dump(conn)
    apply(text, conn)
    assert dump(conn) == before  # rerun changes nothing


def test_rerun_after_updates_applies_them():
    docs = [{"_id": oid(i), "userId": f"u{i}", "qty": float(i), "note": "v1"} for i in range(5)]
    conn = apply(plan_text(docs)[0])
    docs[2]["note"] = "v2 it's changed"
    docs[4]["qty"] = 99.5
    docs.append({"_id": oid(10), "userId": "new", "note": "added"})
    apply(plan_text(docs)[0], conn)
    rows = dump(conn)
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[2][7] == "v2 it's changed" and rows[4][3] == 99.5 and rows[5][1] == "new"


def test_id_only_documents_raise_the_floor_of_new_ids_for_partial_runs():
    # A legacy document not written by this pass still owns its id: no new id may take it,
    # even on a D1 that does not hold that row (yet).
    docs = [{"_id": oid(i), "userId": f"u{i}"} for i in range(6)] + [{"_id": oid(50), "legacy_id": 30, "userId": "L"}]
    p = planner()
    for d in docs:
        p.add_id_only({"_id": d["_id"], **({"legacy_id": d["legacy_id"]} if "legacy_id" in d else {})})
    p.add(docs[4])  # only one changed document is written
    plan = p.plan()
    assert plan.report.base_id == 31
    assert {r[0]: r[1] for r in dump(apply(render_file(plan)))} == {31: "u4"}


def test_rows_right_at_the_statement_limit():
    limit = 2000
    probe = plan_text([{"_id": oid(1), "legacy_id": 1, "note": ""}], max_statement_bytes=limit)[1]
    empty_size = len(probe.statements[probe.first_row_statement].encode("utf-8"))
    for extra in range(-3, 4):
        note = "q" * (limit - empty_size + extra)
        docs = [{"_id": oid(1), "legacy_id": 1, "note": note}, {"_id": oid(2), "legacy_id": 2, "note": "x'"}]
        text, plan = plan_text(docs, max_statement_bytes=limit)
        assert all(len(s.encode("utf-8")) <= limit for s in plan.statements), extra
        assert plan.report.split_values == (1 if extra > 0 else 0)
        assert [r[7] for r in dump(apply(text))] == [note, "x'"]


def test_rows_per_statement_are_capped():
    docs = [{"_id": oid(i), "legacy_id": i + 1, "userId": "u"} for i in range(2500)]
    text, plan = plan_text(docs)
    rows = plan.statements[plan.first_row_statement:]
    assert [s.count("\n(") for s in rows] == [1000, 1000, 500]
    legacy_map = plan.statements[1:plan.first_row_statement]
    assert [s.count("\n(") for s in legacy_map] == [1000, 1000, 500]
    assert len(dump(apply(text))) == 2500


# -- ids never move, never collide (issue 16, item 2) ------------------------------------------

def ids_by_user(conn) -> dict:
    rows = list(conn.execute("SELECT user_id, id FROM trading_trades ORDER BY id"))
    users = [u for u, _ in rows]
    assert len(users) == len(set(users)), f"a document appears twice: {rows}"
    return dict(rows)


def people():
    return [
        {"_id": oid(1), "legacy_id": 1, "userId": "legacy"},
        {"_id": oid(2), "userId": "alice"},
        {"_id": oid(3), "userId": "bob"},
        {"_id": oid(4), "userId": "carol"},
    ]


def test_a_deleted_document_does_not_shift_the_ids_of_the_others_on_a_rerun():
    docs = people()
    conn = apply(plan_text(docs)[0])
    before = ids_by_user(conn)
    remaining = [d for d in docs if d["userId"] != "alice"]  # alice deleted in Mongo
    remaining[2]["note"] = "carol edited"
    apply(plan_text(remaining)[0], conn)
    after = ids_by_user(conn)
    assert after == before  # alice's row is left alone (nothing deleted), bob and carol stay put
    assert conn.execute("SELECT note FROM trading_trades WHERE id = ?", (before["carol"],)).fetchone()[0] == "carol edited"


def test_a_since_pass_after_a_deletion_does_not_shift_ids():
    docs = people()
    conn = apply(plan_text(docs)[0])
    before = ids_by_user(conn)
    remaining = [d for d in docs if d["userId"] != "alice"]
    p = planner()
    for d in remaining:
        p.add_id_only({"_id": d["_id"], **({"legacy_id": d["legacy_id"]} if "legacy_id" in d else {})})
    p.add({**remaining[2], "note": "carol changed since"})  # only carol changed
    apply(render_file(p.plan()), conn)
    assert ids_by_user(conn) == before
    assert conn.execute("SELECT note FROM trading_trades WHERE id = ?", (before["carol"],)).fetchone()[0] == "carol changed since"


def test_a_new_document_never_takes_an_id_a_d1_row_holds():
    conn = apply("")
    conn.executescript(
        "INSERT INTO trading_trades (id, user_id) VALUES (1, 'legacy'), (2, 'two'), (3, 'd1 only');"
    )
    docs = [{"_id": oid(1), "legacy_id": 1, "userId": "legacy"}, {"_id": oid(2), "legacy_id": 2, "userId": "two"},
            {"_id": oid(9), "userId": "new in mongo"}]
    apply(plan_text(docs)[0], conn)
    ids = ids_by_user(conn)
    assert ids["d1 only"] == 3 and ids["new in mongo"] not in (1, 2, 3)


def test_air_gapped_sql_applied_after_d1_gained_rows_takes_no_held_id():
    conn = apply("")
    conn.executescript("INSERT INTO trading_trades (id, user_id) VALUES (1, 'legacy');")
    docs = [{"_id": oid(1), "legacy_id": 1, "userId": "legacy"}, {"_id": oid(9), "userId": "new"},
            {"_id": oid(10), "userId": "newer"}]
    text = plan_text(docs)[0]  # written on the bastion, applied later
    conn.executescript("INSERT INTO trading_trades (id, user_id) VALUES (2, 'late 2'), (3, 'late 3');")
    apply(text, conn)
    ids = ids_by_user(conn)
    assert ids["late 2"] == 2 and ids["late 3"] == 3
    assert sorted([ids["new"], ids["newer"]]) == [4, 5]
    apply(text, conn)  # rerun: same ids
    assert ids_by_user(conn) == ids


def test_start_id_is_a_floor_for_new_ids():
    docs = [{"_id": oid(1), "legacy_id": 10, "userId": "a"}, {"_id": oid(2), "userId": "b"}]
    assert ids_by_user(apply(plan_text(docs, start_id=1000)[0]))["b"] == 1000
    assert ids_by_user(apply(plan_text(docs, start_id=5)[0]))["b"] == 11


# -- values within D1's limits whatever they hold (issue 16, item 5) ---------------------------

def apply_d1_limited(text: str, conn=None):
    conn = conn or sqlite_support.connect_d1_limited()
    if conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'trading_trades'").fetchone()[0] == 0:
        conn.execute(DDL)
    sqlite_support.run_script_statementwise(conn, text)
    return conn


@pytest.mark.parametrize("note", [
    "BEGIN TRANSACTION" * 100,
    "BEGIN TRANSACTION;\n" * 3000,
    "x'" * 200 + "BEGIN TRANSACTION" * 150,
])
def test_a_value_full_of_transaction_phrases_stays_within_d1_limits(note):
    docs = [{"_id": oid(1), "legacy_id": 1, "userId": "a", "note": note, "meta": {"n": note}}]
    text, plan = plan_text(docs)
    assert "BEGIN TRANSACTION" not in text
    conn = apply_d1_limited(text)
    assert conn.execute("SELECT note, meta FROM trading_trades").fetchone() == (note, '{"n":' + __import__("json").dumps(note, ensure_ascii=False) + "}")
    apply_d1_limited(text, conn)
    assert conn.execute("SELECT count(*) FROM trading_trades").fetchone()[0] == 1


phrase_text = st.lists(
    st.one_of(st.sampled_from(["BEGIN TRANSACTION", "BEGIN TRANSACTION;", "COMMIT;", "'", "||", "\x00", "é", "😀", "\n"]),
              st.text(max_size=5)),
    max_size=40,
).map("".join)


@settings(max_examples=40, deadline=None)
@given(phrase_text, st.integers(min_value=0, max_value=150))
def test_any_text_round_trips_within_d1_limits(text, repeat):
    value = text * (1 + repeat)
    docs = [{"_id": oid(1), "legacy_id": 1, "userId": "a", "note": value},
            {"_id": "string id BEGIN TRANSACTION " + text[:50], "userId": value[:1000]}]
    sql_text, plan = plan_text(docs, replace_lone_surrogates=True)
    assert plan.report.error_count == 0
    assert "BEGIN TRANSACTION" not in sql_text
    assert all(len(s.encode("utf-8")) <= 100_000 for s in plan.statements)
    conn = apply_d1_limited(sql_text)
    stored = dict(conn.execute("SELECT user_id, note FROM trading_trades WHERE note IS NOT NULL"))
    assert stored == {"a": value}
    assert conn.execute("SELECT count(*) FROM trading_trades").fetchone()[0] == 2
