"""verify's run: read Mongo, map it as the backfills would, read the targets, compare."""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Dict, List

from cutover.core.config import Config, cloudflare_account_id
from cutover.core.console import Console
from cutover.core.fsutil import write_output
from cutover.core.http import HttpClient
from cutover.errors import EXIT_GATE_FAILED, EXIT_OK, ConfigError, CutoverError, UsageError
from cutover.verify.compare import Report, compare_kv
from cutover.verify.kv_expected import expected_kv
from cutover.verify.kv_targets import STORE_FORMAT, BulkFileKV, KVTarget, LocalStoreKV, RestKV, WranglerKV
from cutover.verify.options import VerifyOptions


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

    def __init__(self, options: VerifyOptions, cfg: Config) -> None:
        self.options = options
        self.cfg = cfg
        self._client: HttpClient | None = None
        self.wrangler_dir = os.path.abspath(options.wrangler_dir or ".")

    def client(self) -> HttpClient:
        """The one Cloudflare client, paced by the token's shared budget (made on first use)."""
        if self._client is None:
            from cutover.core import cloudflare

            self._client = cloudflare.client()
        return self._client

    def account(self) -> str:
        account = cloudflare_account_id(self.cfg)
        if not account:
            raise ConfigError("no Cloudflare account: set CLOUDFLARE_ACCOUNT_ID or cloudflare.account_id")
        return account

    def _wrangler(self) -> List[str]:
        import shlex

        return shlex.split(self.options.wrangler)

    def kv(self, module: str) -> KVTarget:
        options = self.options
        if options.kv_file:
            target = _kv_file_target(options.kv_file.replace("{module}", module))
            modules = options.modules or list(self.cfg.get("kv_modules", {}, kind=dict))
            if isinstance(target, BulkFileKV) and len(modules) > 1 and "{module}" not in options.kv_file:
                raise UsageError("--kv-file: a bulk file holds one namespace; pick one --module or put {module} in the name")
            return target
        if options.local or options.remote_wrangler:
            return WranglerKV(self._wrangler(), self.wrangler_dir, remote=options.remote_wrangler, persist_to=options.persist_to)
        return RestKV(self.client(), self.account())

    def d1(self, database: str | None, database_id: str | None) -> Any:
        from cutover.verify.d1_targets import RestD1, SqliteD1, WranglerD1

        options = self.options
        if options.d1_sqlite:
            if not os.path.exists(options.d1_sqlite):
                raise ConfigError(f"--d1-sqlite {options.d1_sqlite}: no such file")
            return SqliteD1(options.d1_sqlite)
        if options.local or options.remote_wrangler or not database_id:
            if not database:
                raise ConfigError(f"{self.cfg.where('d1.database')}: needed to read D1 through wrangler")
            return WranglerD1(self._wrangler(), database, self.wrangler_dir, remote=not options.local, persist_to=options.persist_to)
        return RestD1(self.client(), self.account(), database_id)


def _scope(options: VerifyOptions, cfg: Config) -> tuple:  # type: ignore[type-arg]
    modules = list(options.modules)
    has_d1 = bool(cfg.get("d1", None, kind=dict))
    if options.d1 and not has_d1:
        raise ConfigError(f"config file {cfg.source}: --d1 given but there is no d1 section")
    if modules or options.d1:
        return modules, bool(options.d1)
    return list(cfg.get("kv_modules", {}, kind=dict)), has_d1


def _line(name: str, report: Report, kv: bool) -> str:
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in report.counts(kv).items())
    extra = f", {report.expiring} expiring (expired in Mongo or before KV was read; not a difference)" if kv and report.expiring else ""
    return f"{'OK  ' if report.ok else 'DIFF'} {name}: {counts}{extra}"


def _unreadable(what: str, exc: CutoverError, hint: str = "") -> str:
    return f"FAIL {what}: cannot read: {exc}{hint}"


def _d1_hint(cfg: Config, options: VerifyOptions) -> str:
    """What to change when D1 could not be read through wrangler."""
    if options.d1_sqlite or cfg.get("d1.database_id", None, kind=str) and not (options.local or options.remote_wrangler):
        return ""
    hint = " - give the wrangler binary with --wrangler CMD"
    if not cfg.get("d1.database_id", None, kind=str):
        hint += f", or set d1.database_id in {cfg.source} to read D1 through the Cloudflare API"
    return hint


def _verify_module(spec: Any, source: Any, targets: Targets, options: VerifyOptions) -> tuple:  # type: ignore[type-arg]
    """(JSON result, report lines, ok) of one KV module."""
    now_ms = int(time.time() * 1000)
    expected = expected_kv(source.documents(spec.collection), spec, now_ms)
    target = targets.kv(spec.name)
    actual = target.read(spec.namespace_id)
    report = compare_kv(expected.entries, expected.expired, actual, options.ttl_tolerance, read_at=target.read_at)
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


def _check(options: VerifyOptions, cfg: Config, source: Any, specs: List[Any], check_d1: bool) -> tuple:  # type: ignore[type-arg]
    """(JSON result, report lines, targets that differ, targets that could not be read)."""
    targets = Targets(options, cfg)
    lines: List[str] = []
    result: Dict[str, Any] = {"modules": {}, "ok": True}
    differences = unreadable = 0
    for spec in specs:
        try:
            module_result, module_lines, ok = _verify_module(spec, source, targets, options)
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
            line = _unreadable("D1", exc, _d1_hint(cfg, options))
            d1_result, d1_lines, ok = {"error": line[len("FAIL D1: cannot read: "):]}, [line], False
        else:
            differences += not ok
        result["d1"] = d1_result
        lines.extend(d1_lines)
    result["ok"] = not differences and not unreadable
    return result, lines, differences, unreadable


def _warn_bad_lines(source: Any, console: Console) -> None:
    """Lines --skip-bad-lines skipped: their documents are not expected, so their keys and rows
    show up as extra, and the proof has a gap the operator must know of."""
    note = source.bad_lines_note()
    if note:
        console.warn(f"{note}; their documents were not checked and their keys or rows count as extra")


def _verdict(differences: int, unreadable: int) -> str:
    if not differences and not unreadable:
        return "OK: every target equals Mongo (live documents)"
    if differences:
        verdict = "DIFFERENCES FOUND (exit 4)"
        if unreadable:
            verdict += f"; {unreadable} target(s) could not be read - fix the FAIL line(s) and run verify again"
        return verdict
    return f"INCOMPLETE: {unreadable} target(s) could not be read (exit 1) - fix the FAIL line(s) and run verify again"


def run(options: VerifyOptions) -> int:
    """Each target is checked and reported on its own: one that cannot be read is one line with
    the fix and exit 1 (unless a difference elsewhere makes it 4); the others still count."""
    from cutover.kv.options import module_specs
    from cutover.mongo import open_source

    cfg = Config.load(options.config)
    cfg.set("mongo.source", options.source)
    cfg.set("mongo.database", options.mongo_database)
    if options.ttl_tolerance < 0:
        raise UsageError("--ttl-tolerance must not be negative")
    module_names, check_d1 = _scope(options, cfg)
    specs = module_specs(cfg, module_names, None) if module_names else []
    source_spec = cfg.source_spec()
    source = open_source(source_spec, database=cfg.get("mongo.database", "", kind=str),
                         data_source=cfg.get("mongo.data_source", None, kind=str), skip_bad_lines=options.skip_bad_lines)
    with source:
        result, lines, differences, unreadable = _check(options, cfg, source, specs, check_d1)
    _warn_bad_lines(source, Console(options.quiet, options.verbose))
    head = f"verify: Mongo {source.description or source_spec.split(':', 1)[0]}"
    text = "\n".join([head, *lines, _verdict(differences, unreadable)]) + "\n"
    (sys.stderr if options.json == "-" else sys.stdout).write(text)
    if options.json:
        write_output(options.json, json.dumps(result, indent=2, sort_keys=True) + "\n")
    if differences:
        return EXIT_GATE_FAILED
    if unreadable:  # the documented runtime error (docs/reference.md): one line on stderr, exit 1 (the report is out already)
        first = next(line for line in lines if line.startswith("FAIL "))[len("FAIL "):]
        more = f" (and {unreadable - 1} more, see above)" if unreadable > 1 else ""
        raise CutoverError(f"{first}{more}; then run verify again")
    return EXIT_OK
