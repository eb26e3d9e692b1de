from __future__ import annotations

import pytest

from cutover.d1.schema import SchemaError, columns_from_definitions, load_table, parse_schema, snake_case

WRANGLER_EXPORT = """PRAGMA defer_foreign_keys=TRUE;
CREATE TABLE d1_migrations(
\t\tid         INTEGER PRIMARY KEY AUTOINCREMENT,
\t\tname       TEXT UNIQUE,
\t\tapplied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);
CREATE TABLE trading_trades (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, symbol TEXT, qty REAL, created_at TEXT, ts INTEGER, note TEXT, is_open INTEGER DEFAULT 0, "weird col" TEXT);
CREATE INDEX idx_trades_user ON trading_trades(user_id);
"""


def test_reads_wrangler_export_output():
    tables = parse_schema(WRANGLER_EXPORT)
    assert set(tables) == {"d1_migrations", "trading_trades"}
    t = tables["trading_trades"]
    assert [c.name for c in t.columns] == ["id", "user_id", "symbol", "qty", "created_at", "ts", "note", "is_open", "weird col"]
    assert t.primary_key == ("id",)
    assert t.column("USER_ID").not_null and t.column("user_id").declared_type == "TEXT"
    assert t.column("is_open").default_sql == "0"
    assert t.is_unique_key("id") and not t.is_unique_key("symbol")
    m = tables["d1_migrations"]
    assert m.column("applied_at").default_sql == "CURRENT_TIMESTAMP" and m.column("applied_at").not_null
    assert m.column("name").unique


def test_quoting_comments_constraints():
    sql = '''
    -- leading comment; with a semicolon
    CREATE TABLE IF NOT EXISTS "Trading_Trades" (
      `id` integer NOT NULL,  /* block, comment */
      [user Id] VARCHAR(64) NOT NULL DEFAULT 'a,b;c',
      qty DECIMAL(10, 2) DEFAULT (0.0) CHECK (qty >= 0),
      neg INT DEFAULT -1,
      total REAL GENERATED ALWAYS AS (qty * 2) VIRTUAL,
      "say ""hi""" TEXT COLLATE NOCASE,
      CONSTRAINT pk PRIMARY KEY (`id`),
      UNIQUE ([user Id], qty),
      FOREIGN KEY ([user Id]) REFERENCES users(id) ON DELETE CASCADE
    ) STRICT;
    '''
    t = parse_schema(sql)["trading_trades"]
    assert t.name == "Trading_Trades"
    assert [c.name for c in t.columns] == ["id", "user Id", "qty", "neg", "total", 'say "hi"']
    assert t.column("user id").default_sql == "'a,b;c'"
    assert t.column("qty").declared_type == "DECIMAL(10, 2)" and t.column("qty").default_sql == "(0.0)"
    assert t.column("neg").default_sql == "-1"
    assert t.column("total").generated
    assert t.primary_key == ("id",) and t.is_unique_key("ID")
    assert t.unique_sets == [("user Id", "qty")]


def test_without_rowid_and_other_statements_ignored():
    tables = parse_schema("CREATE VIEW v AS SELECT 1; CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;")
    assert list(tables) == ["t"]
    assert tables["t"].column("k").primary_key


def test_load_table_names_what_it_found(tmp_path):
    path = tmp_path / "schema.sql"
    path.write_text(WRANGLER_EXPORT)
    assert load_table(str(path), "TRADING_TRADES").name == "trading_trades"
    with pytest.raises(SchemaError, match="no CREATE TABLE other.*d1_migrations, trading_trades"):
        load_table(str(path), "other")
    with pytest.raises(SchemaError, match="not found"):
        load_table(str(tmp_path / "missing.sql"), "t")


def test_columns_from_config_definitions():
    t = columns_from_definitions(["id INTEGER PRIMARY KEY", "note", "qty REAL NOT NULL DEFAULT 0"], "cfg")
    assert [(c.name, c.declared_type, c.not_null, c.default_sql) for c in t.columns] == [
        ("id", "INTEGER", False, None), ("note", "", False, None), ("qty", "REAL", True, "0")]
    assert t.primary_key == ("id",)


@pytest.mark.parametrize(
    ("name", "snake"),
    [("userId", "user_id"), ("createdAtMs", "created_at_ms"), ("HTTPCode", "http_code"), ("user_id", "user_id"),
     ("isOpen", "is_open"), ("price2Usd", "price2_usd"), ("id", "id")],
)
def test_snake_case(name, snake):
    assert snake_case(name) == snake
