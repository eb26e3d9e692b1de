"""Targets the backfills write to: KV (bulk API, per-key API, wrangler file) behind `base.KVSink`,
and the JSON form of Mongo values every KV writer and checker shares (`jsvalue`)."""
