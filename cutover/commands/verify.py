"""Read-only parity check: do KV and D1 hold exactly what Mongo holds?

Mongo is read through the same source and mapped with the same code the backfills write
with; each KV namespace and the D1 table are read back (REST API, wrangler, a bulk file,
or a local SQLite file) and compared key by key, row by row, field by field. Expired
documents must be absent; expiries must agree within --ttl-tolerance. Each target is
reported on its own. Exit 0 when every target equals Mongo, 4 on any difference, 1 when a
target could not be read (and nothing else differed).
"""
from __future__ import annotations

import argparse

from cutover.commands import _args

EXAMPLES = """\
  cutover verify --config rollback.json                       # every KV module and D1, via the API
  cutover verify --config rollback.json --module sessions --json -
  cutover verify --config rollback.json --d1 --d1-sqlite trading.sqlite
  cutover verify --config rollback.json --kv-file kv-sessions.json --module sessions
  cutover verify --config rollback.json --local --wrangler-dir ./bot   # wrangler's local state
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _args.add_config(parser, required=True)
    _args.add_mongo_source(parser, page_size=False)
    scope = parser.add_argument_group("what to check")
    scope.add_argument("--module", action="append", metavar="NAME", help="KV module to check (repeatable)")
    scope.add_argument("--d1", action="store_true", help="check D1 (alone: only D1; default: everything configured)")
    scope.add_argument("--ttl-tolerance", type=float, default=300.0, metavar="SECONDS",
                       help="expiries that differ by less than this are equal (default 300)")
    where = parser.add_argument_group("where the targets are read from (default: the Cloudflare API)")
    where.add_argument("--kv-file", metavar="FILE",
                       help="read KV from a `wrangler kv bulk put` file or a drill KV store instead of the API")
    where.add_argument("--d1-sqlite", metavar="FILE", help="read D1 from a local SQLite file instead of the API")
    where.add_argument("--local", action="store_true", help="read KV and D1 through `wrangler … --local`")
    where.add_argument("--remote-wrangler", action="store_true",
                       help="read KV and D1 through `wrangler … --remote` instead of the REST API")
    where.add_argument("--wrangler", default="wrangler", metavar="CMD", help="wrangler binary (default: wrangler)")
    where.add_argument("--wrangler-dir", metavar="DIR", help="directory with the wrangler config (default: .)")
    where.add_argument("--persist-to", metavar="DIR",
                       help="wrangler --local state directory (where more than 1,000 local keys are listed from)")
    _args.add_json(parser, "the result")


def run(args: argparse.Namespace) -> int:
    from cutover.verify.options import VerifyOptions
    from cutover.verify.run import run as verify

    return verify(_args.options(VerifyOptions, args, renamed={"module": "modules"}))
