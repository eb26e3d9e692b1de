"""verify's work: read Mongo, map it as the backfills would, read the targets, compare."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List

from cutover.core.config import Config, cloudflare_account_id, cloudflare_api_base, read_secret
from cutover.core.fsutil import write_output
from cutover.errors import EXIT_GATE_FAILED, ConfigError, CutoverError, UsageError
from cutover.verify.compare import Report, compare_kv
from cutover.verify.kv_expected import expected_kv
from cutover.verify.kv_targets import STORE_FORMAT, BulkFileKV, KVTarget, LocalStoreKV, RestKV, WranglerKV


def _api_client() -> Any:
    from cutover.core.http import HttpClient
    from cutover.core.ratelimit import cloudflare_limiter

    token = read_secret("CLOUDFLARE_API_TOKEN", required=True)
    limiter = cloudflare_limiter(token, cloudflare_api_base())
    return HttpClient(cloudflare_api_base(), headers={"Authorization": f"Bearer {token}"}, pace=limiter)


def _kv_file_target(path: str) -> KVTarget:
    try:
        with open(path, encoding="utf-8") as handle:
            head = handle.read(4096).lstrip()
    except OSError as exc:
        raise ConfigError(f"--kv-file {path}: {exc.strerror}") from None
    if head.startswith("{") and STORE_FORMAT in head:
        return LocalStoreKV(path)
    return BulkFileKV(path)


class Targets:
    """Chooses and caches the readers for KV and D1 from the flags."""

    def __init__(self, args: argparse.Namespace, cfg: Config) -> None:
        self.args = args
        self.cfg = cfg
        self._client: Any = None
        self.wrangler_dir = os.path.abspath(args.wrangler_dir or ".")

    def client(self) -> Any:
        if self._client is None:
            self._client = _api_client()
        return self._client

    def account(self) -> str:
        account = cloudflare_account_id(self.cfg)
        if not account:
            raise ConfigError("no Cloudflare account: set CLOUDFLARE_ACCOUNT_ID or cloudflare.account_id")
        return account

    def _wrangler(self) -> List[str]:
        import shlex

        return shlex.split(self.args.wrangler)

    def kv(self, module: str) -> KVTarget:
        args = self.args
        if args.kv_file:
            target = _kv_file_target(args.kv_file.replace("{module}", module))
            modules = args.module or list(self.cfg.get("kv_modules", {}, kind=dict))
            if isinstance(target, BulkFileKV) and len(modules) > 1 and "{module}" not in args.kv_file:
                raise UsageError("--kv-file: a bulk file holds one namespace; pick one --module or put {module} in the name")
            return target
        if args.local or args.remote_wrangler:
            return WranglerKV(self._wrangler(), self.wrangler_dir, remote=args.remote_wrangler, persist_to=args.persist_to)
        return RestKV(self.client(), self.account())

    def d1(self, database: str | None, database_id: str | None) -> Any:
        from cutover.verify.d1_targets import RestD1, SqliteD1, WranglerD1

        args = self.args
        if args.d1_sqlite:
            if not os.path.exists(args.d1_sqlite):
                raise ConfigError(f"--d1-sqlite {args.d1_sqlite}: no such file")
            return SqliteD1(args.d1_sqlite)
        if args.local or args.remote_wrangler or not database_id:
            if not database:
                raise ConfigError(f"{self.cfg.where('d1.database')}: needed to read D1 through wrangler")
            return WranglerD1(self._wrangler(), database, self.wrangler_dir, remote=not args.local, persist_to=args.persist_to)
        return RestD1(self.client(), self.account(), database_id)


def _scope(args: argparse.Namespace, cfg: Config) -> tuple:  # type: ignore[type-arg]
    modules = list(args.module or [])
    has_d1 = bool(cfg.get("d1", None, kind=dict))
    if args.d1 and not has_d1:
        raise ConfigError(f"config file {cfg.source}: --d1 given but there is no d1 section")
    if modules or args.d1:
        return modules, bool(args.d1)
    return list(cfg.get("kv_modules", {}, kind=dict)), has_d1


def _line(name: str, report: Report, kv: bool) -> str:
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in report.counts(kv).items())
    extra = f", {report.expiring} expiring (expired in Mongo or before KV was read; not a difference)" if kv and report.expiring else ""
    return f"{'OK  ' if report.ok else 'DIFF'} {name}: {counts}{extra}"


def _unreadable(what: str, exc: CutoverError, hint: str = "") -> str:
    return f"FAIL {what}: cannot read: {exc}{hint}"


def _d1_hint(cfg: Config, args: argparse.Namespace) -> str:
    """What to change when D1 could not be read through wrangler."""
    if args.d1_sqlite or cfg.get("d1.database_id", None, kind=str) and not (args.local or args.remote_wrangler):
        return ""
    hint = " - give the wrangler binary with --wrangler CMD"
    if not cfg.get("d1.database_id", None, kind=str):
        hint += f", or set d1.database_id in {cfg.source} to read D1 through the Cloudflare API"
    return hint


def _verify_module(spec: Any, source: Any, targets: Targets, args: argparse.Namespace) -> tuple:  # type: ignore[type-arg]
    """(JSON result, report lines, ok) of one KV module."""
    now_ms = int(time.time() * 1000)
    expected = expected_kv(source.documents(spec.collection), spec, now_ms)
    target = targets.kv(spec.name)
    actual = target.read(spec.namespace_id)
    report = compare_kv(expected.entries, expected.expired, actual, args.ttl_tolerance, read_at=target.read_at)
    report.unread = expected.unread
    result = {**report.counts(True), "expiring": report.expiring, "invalid_in_mongo": expected.invalid,
              "documents": expected.documents, "examples": [d.line() for d in report.examples]}
    lines = [_line(f"KV {spec.name} ({target.description}, namespace {spec.namespace_id})", report, True)]
    if expected.unread_detail:
        lines.append(f"     Mongo: {expected.unread_detail}")
    lines.extend(f"     {d.line()}" for d in report.examples)
    return result, lines, report.ok


def _verify_d1(cfg: Config, source: Any, targets: Targets) -> tuple:  # type: ignore[type-arg]
    from cutover.d1.ids import MAP_TABLE
    from cutover.mongo.base import SourceIncomplete
    from cutover.verify.d1_expected import expected_rows
    from cutover.verify.d1_match import compare_d1

    try:
        expected_d1 = expected_rows(cfg, source)
    except SourceIncomplete as exc:
        report = Report(unread=max(1, exc.counted - exc.scanned))
        return {**report.counts(False), "examples": []}, [_line("D1", report, False), f"     Mongo: {exc}"], False
    target_d1 = targets.d1(cfg.get("d1.database", None, kind=str), cfg.get("d1.database_id", None, kind=str))
    id_map = target_d1.id_map(expected_d1.table)
    actual_rows = target_d1.rows(expected_d1.table, expected_d1.id_column)
    report = compare_d1(expected_d1, id_map, actual_rows)
    lines = [_line(f"D1 {expected_d1.table} ({target_d1.description})", report, False)]
    if id_map is None:
        lines.append(f"     D1 has no {MAP_TABLE} table (backfill-d1 creates it): rows are found by legacy id "
                     "only, documents without one cannot be matched; run the backfill-d1 SQL first")
    lines.extend(f"     {d.line()}" for d in report.examples)
    return {**report.counts(False), "examples": [d.line() for d in report.examples]}, lines, report.ok


def run_verify(args: argparse.Namespace) -> int:
    """Each target is checked and reported on its own: one that cannot be read is one line with
    the fix and exit 1 (unless a difference elsewhere makes it 4); the others still count."""
    from cutover.kv.backfill import module_specs
    from cutover.mongo import open_source

    cfg = Config.load(args.config)
    cfg.set("mongo.source", args.source)
    if args.ttl_tolerance < 0:
        raise UsageError("--ttl-tolerance must not be negative")
    module_names, check_d1 = _scope(args, cfg)
    targets = Targets(args, cfg)
    specs = module_specs(cfg, module_names, None) if module_names else []
    source_spec = cfg.source_spec()
    err = sys.stderr
    lines: List[str] = []
    result: Dict[str, Any] = {"modules": {}, "ok": True}
    differences = unreadable = 0
    source = open_source(source_spec, database=cfg.get("mongo.database", "", kind=str),
                         data_source=cfg.get("mongo.data_source", None, kind=str), skip_bad_lines=args.skip_bad_lines)
    with source:
        for spec in specs:
            try:
                module_result, module_lines, ok = _verify_module(spec, source, targets, args)
            except CutoverError as exc:
                unreadable += 1
                module_result, module_lines, ok = {"error": str(exc)}, [_unreadable(f"KV {spec.name}", exc)], False
            else:
                differences += not ok
            result["modules"][spec.name] = module_result
            lines.extend(module_lines)
        if check_d1:
            try:
                d1_result, d1_lines, ok = _verify_d1(cfg, source, targets)
            except CutoverError as exc:
                unreadable += 1
                line = _unreadable("D1", exc, _d1_hint(cfg, args))
                d1_result, d1_lines, ok = {"error": line[len("FAIL D1: cannot read: "):]}, [line], False
            else:
                differences += not ok
            result["d1"] = d1_result
            lines.extend(d1_lines)
    result["ok"] = not differences and not unreadable
    if result["ok"]:
        verdict = "OK: every target equals Mongo (live documents)"
    elif differences:
        verdict = "DIFFERENCES FOUND (exit 4)"
        if unreadable:
            verdict += f"; {unreadable} target(s) could not be read - fix the FAIL line(s) and run verify again"
    else:
        verdict = f"INCOMPLETE: {unreadable} target(s) could not be read (exit 1) - fix the FAIL line(s) and run verify again"
    text = "\n".join([f"verify: Mongo {source.description or source_spec.split(':', 1)[0]}", *lines, verdict]) + "\n"
    (err if args.json == "-" else sys.stdout).write(text)
    if args.json:
        write_output(args.json, json.dumps(result, indent=2, sort_keys=True) + "\n")
    if differences:
        return EXIT_GATE_FAILED
    if unreadable:  # the documented runtime error (docs/reference.md): one line on stderr, exit 1 (the report is out already)
        first = next(line for line in lines if line.startswith("FAIL "))[len("FAIL "):]
        more = f" (and {unreadable - 1} more, see above)" if unreadable > 1 else ""
        raise CutoverError(f"{first}{more}; then run verify again")
    return 0
