"""Workers KV: records from Mongo documents, the bulk/per-key API and wrangler-file sinks, the backfill loop."""

# backfill-kv's default files (here, not in kv.options: the command's --help names them and
# must not import the engine to do so)
DEFAULT_CHECKPOINT = "backfill-kv.checkpoint.json"
DEFAULT_FAILED_KEYS = "backfill-kv.failed.ndjson"
