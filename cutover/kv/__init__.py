"""Workers KV: records from Mongo documents, the bulk/per-key API and wrangler-file sinks, the backfill loop."""
