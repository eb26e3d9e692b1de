"""Write Mongo documents back to Workers KV, per module, with TTLs from expiresAt.

Bulk API by default (10,000 keys per request), per-key PUTs with --mode put, or a
`wrangler kv bulk put` file with --emit. Paced under Cloudflare's 1,200-requests-per-5-minutes
budget, checkpointed after every acknowledged batch (--resume continues), expired documents
never written, invalid ones reported and never sent.
"""
from __future__ import annotations

import argparse

from cutover.commands import _args
from cutover.kv import DEFAULT_CHECKPOINT, DEFAULT_FAILED_KEYS

EXAMPLES = """\
  cutover backfill-kv --config rollback.json --dry-run
  cutover backfill-kv --config rollback.json --module sessions --since 2026-11-20T00:00:00Z
  cutover backfill-kv --config rollback.json --resume            # after a crash or Ctrl-C
  cutover backfill-kv --config rollback.json --mode put --rate 20
  cutover backfill-kv --config rollback.json --emit kv-{module}.json   # air-gapped: wrangler kv bulk put
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _args.add_config(parser)
    parser.add_argument("--module", action="append", metavar="NAME", help="KV module to restore (repeatable; default: all in kv_modules)")
    parser.add_argument("--dry-run", action="store_true", help="read and compute everything, write nothing, print what would happen")
    parser.add_argument("--mode", choices=("bulk", "put"), default="bulk", help="bulk API (default) or one PUT per key")
    parser.add_argument("--rate", type=_args.positive_float, default=50.0, metavar="N", help="--mode put: PUTs per second (default 50; the API budget still caps it)")
    parser.add_argument("--batch-size", type=int, default=10_000, metavar="N", help="--mode bulk: keys per bulk request (default and maximum 10,000); a checkpoint follows each")
    parser.add_argument("--emit", metavar="FILE", help="write a `wrangler kv bulk put` JSON file per module instead of calling the API ({module} in the name is replaced)")
    parser.add_argument("--since", metavar="WHEN", help="only documents whose since_field (default updatedAt) is at or after WHEN: 24h, 7d, 2026-12-03, 2026-12-03T18:00:00Z or epoch ms")
    parser.add_argument("--checkpoint", metavar="FILE", default=None, help=f"resume state, saved after each acknowledged batch (default ./{DEFAULT_CHECKPOINT})")
    parser.add_argument("--resume", action="store_true", help="continue after the last acknowledged document of the checkpoint")
    parser.add_argument("--failed-keys", metavar="FILE", default=None, help=f"NDJSON list of failed keys and invalid documents (default ./{DEFAULT_FAILED_KEYS}, only written when there are any)")
    _args.add_json(parser)
    _args.add_mongo_source(parser, database_alias=True)
    cloudflare = _args.add_cloudflare(parser)
    cloudflare.add_argument("--namespace-id", metavar="ID", help="KV namespace (overrides the module's namespace_id; one module only)")


def run(args: argparse.Namespace) -> int:
    from cutover.kv.backfill import BackfillKVOptions
    from cutover.kv.backfill import run as backfill

    return backfill(_args.options(BackfillKVOptions, args, renamed={"module": "modules"}))
