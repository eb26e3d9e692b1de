"""Shared core: HTTP client, rate limiter, progress, config, atomic files, redaction."""
