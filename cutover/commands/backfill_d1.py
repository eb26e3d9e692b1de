"""Write Mongo documents back into D1 as rerunnable SQL (and run it), keeping every original id.

Reads the collection (default trading_trades), maps fields to the table's columns (from the
`CREATE TABLE` that `wrangler d1 export --no-data` prints), keeps `legacy_id` as the row id,
and writes multi-row upserts of at most 100,000 bytes each (D1's statement limit). Documents
without a legacy id get their ids when the file is applied, through D1's cutover_id_map table:
an id once given never moves, and never collides with a row D1 holds. Running the file twice
changes nothing; running it after Mongo changed applies the changes.
"""
from __future__ import annotations

import argparse

from cutover.commands import _args

EXAMPLES = """\
  # see what would be written: counts, id ranges, mapping warnings, first row statement
  cutover backfill-d1 --config rollback.json --schema schema.sql --dry-run

  # write backfill-d1.sql, then run it with wrangler against the remote database
  cutover backfill-d1 --config rollback.json --schema schema.sql --execute

  # no node on this host: send the statements through the D1 REST API (resumable)
  CLOUDFLARE_API_TOKEN_FILE=~/.cf-token cutover backfill-d1 --config rollback.json \\
      --schema schema.sql --mode api --database-id 0b9e…

  # get the schema file first
  wrangler d1 export trading --remote --no-data --output schema.sql
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _args.add_config(parser)
    src = _args.add_mongo_source(parser)
    src.add_argument("--collection", metavar="NAME", help="collection to read (config d1.collection, default trading_trades)")
    window = _args.add_time_window(parser, "documents changed", until=False)
    window.add_argument("--since-field", metavar="FIELD",
                        help="date field for --since (config d1.since_field, default updatedAt); the rows written "
                             "keep the ids D1 gave them")

    tgt = parser.add_argument_group("target table")
    tgt.add_argument("--schema", metavar="FILE", help="CREATE TABLE text (wrangler d1 export --no-data); config d1.schema")
    tgt.add_argument("--table", metavar="NAME", help="D1 table (config d1.table, default trading_trades)")
    tgt.add_argument("--id-column", metavar="NAME", help="id column (config d1.id_column, default id)")
    tgt.add_argument("--legacy-id-field", metavar="FIELD", help="Mongo field holding the original id (default legacy_id)")
    tgt.add_argument("--start-id", type=int, metavar="N", default=None,
                     help="floor for the ids of documents without a legacy id (default 1); they get ids above "
                          "max(legacy ids, N-1) and above every id D1 holds when the SQL is applied")
    tgt.add_argument("--date-format", action="append", default=[], metavar="COLUMN=UNIT",
                     help="how dates are written to a column: iso, ms, s or sqlite (default: ms for INTEGER columns, "
                          "iso otherwise); repeatable")
    tgt.add_argument("--replace-lone-surrogates", action="store_true",
                     help="write U+FFFD for lone UTF-16 surrogates instead of refusing the document")

    out = parser.add_argument_group("output and execution")
    out.add_argument("--dry-run", action="store_true", help="read and plan, write nothing; print counts, ids, warnings, first statement")
    out.add_argument("--output", "-o", metavar="FILE.sql", default="backfill-d1.sql", help="SQL file (default backfill-d1.sql; - = stdout)")
    _args.add_json(out)
    out.add_argument("--mode", choices=("file", "api"), default="file",
                     help="file: write SQL (run it with --execute); api: also send it through the D1 REST API")
    out.add_argument("--execute", action="store_true", help="run: wrangler d1 execute DB --remote --file FILE -y")
    out.add_argument("--wrangler", metavar="CMD", default="wrangler", help="wrangler command for --execute (default wrangler; e.g. 'npx wrangler')")
    out.add_argument("--d1-database", metavar="NAME", help="D1 database name for wrangler (config d1.database)")
    _args.hidden_alias(out, "--database", "d1_database", metavar="NAME")
    out.add_argument("--database-id", metavar="UUID", help="D1 database id for --mode api (config d1.database_id)")
    out.add_argument("--max-statement-bytes", type=int, default=100_000, metavar="N", help=argparse.SUPPRESS)

    api = _args.add_cloudflare(parser, headroom_alias=True)
    api.add_argument("--checkpoint", metavar="FILE", help="--mode api progress file (default OUTPUT.checkpoint.json)")
    api.add_argument("--resume", action="store_true", help="--mode api: continue from the checkpoint")
    api.add_argument("--rate", type=float, default=4.0, metavar="N", help="--mode api requests per second (default 4), within the budget")


def run(args: argparse.Namespace) -> int:
    from cutover.d1.backfill import run as backfill
    from cutover.d1.options import BackfillD1Options

    return backfill(_args.options(BackfillD1Options, args, renamed={"date_format": "date_formats"}))
