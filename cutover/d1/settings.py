"""backfill-d1's settings: flags over the config file over the defaults, the table definition, and
the planner built from them. verify builds the same planner here, so both map documents alike."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

from cutover.core.config import Config
from cutover.d1 import sql
from cutover.d1.options import BackfillD1Options
from cutover.d1.plan import D1Planner, PlanOptions
from cutover.d1.schema import SchemaError, Table, columns_from_definitions, load_table
from cutover.errors import ConfigError, UsageError

DEFAULT_TABLE = "trading_trades"


@dataclass(frozen=True)
class Settings:
    source: str
    mongo_database: str
    data_source: str | None
    collection: str
    table_name: str
    id_column: str
    legacy_id_field: str
    database: str | None  # the D1 database's name (wrangler)
    database_id: str | None  # and its id (REST API)
    since_field: str


def resolve(options: BackfillD1Options, cfg: Config) -> Settings:
    """The flags set over the config (None leaves the file's value), then the defaults."""
    cfg.set("mongo.source", options.source)
    cfg.set("mongo.database", options.mongo_database)
    cfg.set("d1.collection", options.collection)
    cfg.set("d1.table", options.table)
    cfg.set("d1.id_column", options.id_column)
    cfg.set("d1.legacy_id_field", options.legacy_id_field)
    cfg.set("d1.database", options.d1_database)
    cfg.set("d1.database_id", options.database_id)
    cfg.set("d1.since_field", options.since_field)
    table = cfg.get("d1.table", DEFAULT_TABLE, kind=str)
    source = cfg.source_spec() if cfg.get("mongo.source", "", kind=str) else ""
    return Settings(
        source=source,
        mongo_database=cfg.get("mongo.database", "", kind=str),
        data_source=cfg.get("mongo.data_source", None, kind=str),
        collection=cfg.get("d1.collection", table, kind=str),
        table_name=table,
        id_column=cfg.get("d1.id_column", "id", kind=str),
        legacy_id_field=cfg.get("d1.legacy_id_field", "legacy_id", kind=str),
        database=cfg.get("d1.database", None, kind=str),
        database_id=cfg.get("d1.database_id", None, kind=str),
        since_field=cfg.get("d1.since_field", "updatedAt", kind=str),
    )


def _table_from_columns(cfg: Config, settings: Settings) -> Table:
    columns = cfg.get("d1.columns", None, kind=list)
    if not columns:
        raise ConfigError(
            f"no table definition: pass --schema FILE (from: wrangler d1 export DB --remote --no-data "
            f"--output schema.sql) or list the columns in {cfg.where('d1.columns')}"
        )
    if not all(isinstance(c, str) for c in columns):
        raise ConfigError(f"{cfg.where('d1.columns')}: must be a list of strings like \"qty REAL\"")
    table = columns_from_definitions(columns, cfg.where("d1.columns"))
    table.name = settings.table_name
    if table.column(settings.id_column) is None:
        table.columns.insert(0, columns_from_definitions([f"{settings.id_column} INTEGER PRIMARY KEY"], "").columns[0])
        table.primary_key = (settings.id_column,)
    return table


def load_target_table(schema_flag: str | None, cfg: Config, settings: Settings) -> Table:
    """The table's definition: --schema, d1.schema (relative to the config) or d1.columns."""
    schema = schema_flag or cfg.get("d1.schema", None, kind=str)
    try:
        if schema:
            table = load_table(schema_flag or cfg.resolve_path(schema), settings.table_name)
        else:
            table = _table_from_columns(cfg, settings)
    except SchemaError as exc:
        raise ConfigError(str(exc)) from None
    if table.column(settings.id_column) is None:
        raise ConfigError(f"table {table.name} has no column {settings.id_column!r} (set d1.id_column or --id-column)")
    if not table.is_unique_key(settings.id_column):
        raise ConfigError(
            f"column {settings.id_column!r} of {table.name} is neither PRIMARY KEY nor UNIQUE, so an upsert "
            "on it (ON CONFLICT) is impossible; check the schema file"
        )
    return table


def date_units(date_formats: Tuple[str, ...], cfg: Config) -> Dict[str, str]:
    """Column -> iso|ms|s|sqlite from d1.date_format, then the --date-format COLUMN=UNIT flags."""
    units: Dict[str, str] = {}
    for column, unit in (cfg.get("d1.date_format", {}, kind=dict) or {}).items():
        units[str(column)] = str(unit)
    for item in date_formats:
        column, sep, unit = item.partition("=")
        if not sep or not column:
            raise UsageError(f"--date-format {item!r}: expected COLUMN=UNIT")
        units[column] = unit
    for column, unit in units.items():
        if unit not in sql.DATE_UNITS:
            raise UsageError(f"date format for column {column!r}: {unit!r} is not one of {', '.join(sql.DATE_UNITS)}")
    return units


def build_planner(options: BackfillD1Options, cfg: Config) -> Tuple[Settings, Table, D1Planner]:
    """Settings, table and an empty planner exactly as backfill-d1 would use them (verify shares this)."""
    settings = resolve(options, cfg)
    table = load_target_table(options.schema, cfg, settings)
    start_id = options.start_id if options.start_id is not None else cfg.get("d1.start_id", 1, kind=int)
    column_map = {str(k): str(v) for k, v in (cfg.get("d1.column_map", {}, kind=dict) or {}).items()}
    try:
        planner = D1Planner(PlanOptions(
            table=table,
            id_column=settings.id_column,
            legacy_id_field=settings.legacy_id_field,
            start_id=start_id,
            date_units=date_units(options.date_formats, cfg),
            column_map=column_map,
            max_statement_bytes=options.max_statement_bytes,
            replace_lone_surrogates=options.replace_lone_surrogates,
        ))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return settings, table, planner
