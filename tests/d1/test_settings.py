"""backfill-d1's settings: flags over the config over the defaults; the planner verify shares."""
from __future__ import annotations

import json

import pytest

from cutover.core.config import Config
from cutover.d1.options import BackfillD1Options
from cutover.d1.settings import build_planner, date_units, load_target_table, resolve
from cutover.errors import ConfigError, UsageError

DDL = "CREATE TABLE trades (id INTEGER PRIMARY KEY, user_id TEXT, note TEXT);"


def config(tmp_path, **d1) -> Config:
    (tmp_path / "schema.sql").write_text(DDL)
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"mongo": {"source": "export:.", "database": "bot"},
                                "d1": {"table": "trades", "schema": "schema.sql", **d1}}))
    return Config.load(str(path))


def test_flags_override_the_config_and_defaults_fill_the_rest(tmp_path):
    cfg = config(tmp_path, database="from-config", since_field="changedAt")
    s = resolve(BackfillD1Options(d1_database="from-flag", collection="c2"), cfg)
    assert (s.database, s.collection, s.table_name, s.since_field) == ("from-flag", "c2", "trades", "changedAt")
    assert (s.id_column, s.legacy_id_field, s.mongo_database, s.database_id) == ("id", "legacy_id", "bot", None)
    s = resolve(BackfillD1Options(), config(tmp_path))
    assert (s.collection, s.database, s.since_field) == ("trades", None, "updatedAt")  # collection defaults to the table


def test_date_units_from_config_then_flags(tmp_path):
    cfg = config(tmp_path, date_format={"note": "ms", "user_id": "s"})
    assert date_units(("note=sqlite",), cfg) == {"note": "sqlite", "user_id": "s"}
    with pytest.raises(UsageError, match="expected COLUMN=UNIT"):
        date_units(("note",), cfg)
    with pytest.raises(UsageError, match="'weeks' is not one of iso, ms, s, sqlite"):
        date_units(("note=weeks",), cfg)


def test_table_needs_a_unique_id_column(tmp_path):
    cfg = config(tmp_path)
    with pytest.raises(ConfigError, match="has no column 'uid'"):
        load_target_table(None, cfg, resolve(BackfillD1Options(id_column="uid"), cfg))
    (tmp_path / "other.sql").write_text("CREATE TABLE trades (id INTEGER, note TEXT);")
    cfg = config(tmp_path)  # resolve() wrote the flags into the config
    with pytest.raises(ConfigError, match="neither PRIMARY KEY nor UNIQUE"):
        load_target_table(str(tmp_path / "other.sql"), cfg, resolve(BackfillD1Options(), cfg))


def test_default_options_build_the_planner_from_the_config_alone(tmp_path):
    """What verify does: no flags, no parser; the same planner backfill-d1 builds."""
    cfg = config(tmp_path, start_id=50, column_map={"note": "comment"})
    settings, table, planner = build_planner(BackfillD1Options(), cfg)
    assert table.name == "trades" and planner.options.start_id == 50
    planner.add({"_id": 1, "comment": "hi"})
    plan = planner.plan()
    assert plan.report.base_id == 50 and plan.report.mapping == {"note": {"comment": 1}}
    _, _, flagged = build_planner(BackfillD1Options(start_id=7), cfg)
    assert flagged.options.start_id == 7
