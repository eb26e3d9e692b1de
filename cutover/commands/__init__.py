"""One module per command: `add_arguments(parser)` and `run(args) -> int`.

Keep module top levels light (argparse only): heavy imports go inside `run` so that
`cutover --help` and every command start fast.
"""
from __future__ import annotations

from typing import NamedTuple


class Command(NamedTuple):
    name: str
    aliases: tuple[str, ...]
    module: str  # cutover.commands.<module>: add_arguments(parser) and run(args) -> int
    summary: str


COMMANDS: tuple[Command, ...] = (
    Command("analyze-soak", ("analyze:soak",), "analyze_soak", "Workers logs -> percentiles, failures, PROCEED/PIVOT gate"),
    Command("synthetic-burst", ("burst:synthetic",), "synthetic_burst", "N simultaneous synthetic Telegram updates at the Worker"),
    Command("backfill-kv", ("backfill-mongo-to-kv", "backfill:mongo:kv"), "backfill_kv", "Mongo -> Workers KV (bulk or per key), resumable"),
    Command("backfill-d1", ("backfill-mongo-to-d1", "backfill:mongo:d1"), "backfill_d1", "Mongo -> D1 SQL (and execute), ids preserved"),
    Command("delete-guard", ("wrangler-delete-guard",), "delete_guard", "typed confirmation around wrangler KV/D1 deletes"),
    Command("worker-src", (), "worker_src", "list / show / export the Worker timing JS shipped inside"),
    Command("verify", (), "verify", "prove KV and D1 hold what Mongo holds (read-only)"),
    Command("drill", (), "drill", "rehearse the whole rollback offline on embedded sample data"),
    Command("fetch-logs", (), "fetch_logs", "pull a soak's Workers logs from the Observability API or a Logpush folder"),
    Command("soak-watch", ("watch:soak",), "soak_watch", "judge the soak while it runs; stop early on a stop-condition"),
    Command("docs", (), "docs", "print the runbooks and reference shipped inside (cutover docs rollback)"),
)
