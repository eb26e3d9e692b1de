"""commands/_args: the shared argparse types and the one way flags become a feature's Options."""
from __future__ import annotations

import argparse
import dataclasses
import importlib
from typing import Any, Dict, List, Tuple

import pytest

from cutover import cli
from cutover.commands import _args


@dataclasses.dataclass(frozen=True)
class Sample:
    config: str | None = None
    modules: Tuple[str, ...] = ()
    rate: float = 1.0
    computed: int = 0
    quiet: bool = False


def ns(**values: Any) -> argparse.Namespace:
    return argparse.Namespace(**values)


def test_flags_land_in_fields_of_the_same_name_and_lists_become_tuples() -> None:
    got = _args.options(Sample, ns(config="c.json", module=["a", "b"], rate=2.5, quiet=True, _subcommand="x",
                                   _command=object()), renamed={"module": "modules"}, computed=7)
    assert got == Sample(config="c.json", modules=("a", "b"), rate=2.5, computed=7, quiet=True)


def test_a_flag_not_given_to_a_tuple_field_is_an_empty_tuple() -> None:
    assert _args.options(Sample, ns(module=None), renamed={"module": "modules"}).modules == ()


def test_a_flag_without_a_field_is_refused_never_dropped() -> None:
    with pytest.raises(TypeError, match="'modul'"):
        _args.options(Sample, ns(modul=["a"]))


@pytest.mark.parametrize("text, value", [("10%", 0.1), ("0.1", 0.1), ("0", 0.0), ("99.5%", 0.995)])
def test_headroom_takes_a_share_or_a_percentage(text: str, value: float) -> None:
    assert _args.headroom(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["100%", "1", "-1%", "ten"])
def test_headroom_outside_0_to_100_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        _args.headroom(text)


# Every command: the parsed flags reach its feature's Options (the feature itself replaced).
FEATURES: Dict[str, Tuple[str, List[str]]] = {
    "analyze-soak": ("cutover.soak.run", ["--input", "x.ndjson"]),
    "backfill-kv": ("cutover.kv.backfill", ["--module", "sessions", "--database", "bot"]),
    "backfill-d1": ("cutover.d1.backfill", ["--database", "trading", "--date-format", "ts=ms"]),
    "delete-guard": ("cutover.guard.session", ["d1", "trading"]),
    "drill": ("cutover.drill.run", []),
    "fetch-logs": ("cutover.logfetch.fetch", ["--script", "bot", "-o", "x.ndjson"]),
    "synthetic-burst": ("cutover.burst.run", ["--url", "https://bot.example/hook", "--command", "/start"]),
    "verify": ("cutover.verify.run", ["--config", "c.json", "--module", "sessions"]),
    "worker-src": ("cutover.worker.run", ["list"]),
    "docs": ("cutover.core.docs_files", []),
    "soak-watch": ("cutover.soakwatch.run", ["--from-api", "--script", "bot", "--interval", "2m"]),
}


def test_the_table_names_every_command() -> None:
    assert set(FEATURES) == {c.name for c in cli.COMMANDS}


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_every_flag_reaches_the_features_options(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module, argv = FEATURES[name]
    seen: List[Any] = []
    monkeypatch.setattr(importlib.import_module(module), "run", lambda options, *rest: seen.append(options) or 0)
    assert cli.main([name, *argv]) == 0
    (options,) = seen
    assert dataclasses.is_dataclass(options) and type(options).__dataclass_params__.frozen  # type: ignore[attr-defined]
    fields = dataclasses.asdict(options) if name != "drill" else {f.name: getattr(options, f.name)
                                                                   for f in dataclasses.fields(options)}
    if name == "backfill-kv":
        assert fields["modules"] == ("sessions",) and fields["mongo_database"] == "bot"
    if name == "backfill-d1":
        assert fields["d1_database"] == "trading" and fields["date_formats"] == ("ts=ms",)
    if name == "synthetic-burst":
        assert fields["command"] == "/start"  # its own --command, not the CLI's subcommand name
    if name == "soak-watch":
        assert fields["interval_s"] == 120.0
    if name == "drill":
        assert fields["run_cutover"] is cli.main


@dataclasses.dataclass(frozen=True)
class Part:
    rate: float = 0.0
    limit: int = 0


@dataclasses.dataclass(frozen=True)
class WithPart:
    config: str | None = None
    part: Part = Part()


def test_a_flag_named_after_a_parts_field_lands_in_that_part() -> None:
    got = _args.options(WithPart, ns(config="c", rate=2.0, lim=3), renamed={"lim": "limit"}, parts={"part": Part})
    assert got == WithPart(config="c", part=Part(rate=2.0, limit=3))
    with pytest.raises(TypeError, match="'nowhere'"):
        _args.options(WithPart, ns(nowhere=1), parts={"part": Part})


def test_soak_watch_gate_and_stop_flags_reach_its_limits() -> None:
    from cutover.commands.soak_watch import options_from
    from cutover.soakwatch.conditions import Limits

    args = cli.build_parser().parse_args(["soak-watch", "--input", "soak.log", "--gate-cmd", "/start", "--factor", "3",
                                          "--baseline-cold-ping-ms", "400", "--stop-hours", "2", "--min-failures", "9",
                                          "--max-dual-write-pct", "off", "--no-follow"])
    options = options_from(args)
    assert options.limits == Limits(baseline_cold_ping_ms=400.0, factor=3.0, gate_cmd="/start", stop_hours=2,
                                    min_failures=9, max_dual_write_pct=None)
    assert options.follow is False and options.wait_for_file is False
