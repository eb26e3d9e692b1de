"""Write Mongo documents back to Workers KV, per module, with TTLs from expiresAt.

Bulk API by default (10,000 keys per request), per-key PUTs with --mode put, or a
`wrangler kv bulk put` file with --emit. Paced under Cloudflare's 1,200-requests-per-5-minutes
budget, checkpointed after every acknowledged batch (--resume continues), expired documents
never written, invalid ones reported and never sent.
"""
from __future__ import annotations

import argparse

EXAMPLES = """\
  cutover backfill-kv --config rollback.json --dry-run
  cutover backfill-kv --config rollback.json --module sessions --since 2026-11-20T00:00:00Z
  cutover backfill-kv --config rollback.json --resume            # after a crash or Ctrl-C
  cutover backfill-kv --config rollback.json --mode put --rate 20
  cutover backfill-kv --config rollback.json --emit kv-{module}.json   # air-gapped: wrangler kv bulk put
"""

DEFAULT_CHECKPOINT = "backfill-kv.checkpoint.json"
DEFAULT_FAILED_KEYS = "backfill-kv.failed.ndjson"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="backfill config (JSON; see docs/config.md or `cutover docs config`)")
    parser.add_argument("--module", action="append", metavar="NAME", help="KV module to restore (repeatable; default: all in kv_modules)")
    parser.add_argument("--dry-run", action="store_true", help="read and compute everything, write nothing, print what would happen")
    parser.add_argument("--mode", choices=("bulk", "put"), default="bulk", help="bulk API (default) or one PUT per key")
    parser.add_argument("--rate", type=float, default=50.0, metavar="N", help="--mode put: PUTs per second (default 50; the API budget still caps it)")
    parser.add_argument("--budget-headroom", default="10%", metavar="PCT", help="share of the API budget left unused, e.g. 10%% or 0.1 (default 10%%)")
    parser.add_argument("--api-limit", default=None, metavar="N/SECONDS", help="Cloudflare's request budget per token (default 1200/300: 1,200 per 5 minutes), shared with the other cutover runs on this machine that use the same token")
    parser.add_argument("--batch-size", type=int, default=10_000, metavar="N", help="--mode bulk: keys per bulk request (default and maximum 10,000); a checkpoint follows each")
    parser.add_argument("--emit", metavar="FILE", help="write a `wrangler kv bulk put` JSON file per module instead of calling the API ({module} in the name is replaced)")
    parser.add_argument("--since", metavar="WHEN", help="only documents whose since_field (default updatedAt) is at or after WHEN: 24h, 7d, 2026-12-03, 2026-12-03T18:00:00Z or epoch ms")
    parser.add_argument("--checkpoint", metavar="FILE", default=None, help=f"resume state, saved after each acknowledged batch (default ./{DEFAULT_CHECKPOINT})")
    parser.add_argument("--resume", action="store_true", help="continue after the last acknowledged document of the checkpoint")
    parser.add_argument("--failed-keys", metavar="FILE", default=None, help=f"NDJSON list of failed keys and invalid documents (default ./{DEFAULT_FAILED_KEYS}, only written when there are any)")
    parser.add_argument("--json", metavar="FILE", help="write the summary as JSON to FILE (- for stdout)")
    parser.add_argument("--source", metavar="SPEC", help="Mongo source (overrides mongo.source): export:DIR, dataapi:URL, mongodb+srv://")
    parser.add_argument("--database", metavar="NAME", help="Mongo database (overrides mongo.database)")
    parser.add_argument("--page-size", type=int, default=1000, metavar="N", help="dataapi: documents per page (default 1000, at most 50000)")
    parser.add_argument("--namespace-id", metavar="ID", help="KV namespace (overrides the module's namespace_id; one module only)")
    parser.add_argument("--account-id", metavar="ID", help="Cloudflare account (overrides CLOUDFLARE_ACCOUNT_ID and cloudflare.account_id)")
    parser.add_argument("--skip-bad-lines", action="store_true", help="export: skip and count damaged lines instead of stopping")


def run(args: argparse.Namespace) -> int:
    from cutover.kv.backfill import run_backfill

    return run_backfill(args)
