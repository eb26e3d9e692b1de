"""Read-only parity checks: does a KV namespace / D1 table hold exactly what Mongo holds?"""
