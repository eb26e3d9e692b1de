"""soak-watch: the soak judged while it runs (see cutover/commands/soak_watch.py)."""
