"""Judge the soak while it runs and stop it early on a stop-condition.

Follows `wrangler tail --format json` on stdin, or a log file still being written (like
`tail -F`: appends, a value half written, rotation; until the soak's window ends on the events or
on the clock, --no-follow reads it once), or pulls the Workers Observability API every
--interval (resumable from --state), and keeps analyze-soak's figures
incrementally: the same counting rules, percentiles and gate. Hours are event time (UTC).
After each pull the report (markdown, JSON, SVG chart) is rewritten atomically and one status
line is printed. Stop-conditions, each judged on a complete event-hour (defaults):
  - cold P95 > factor x baseline in --stop-hours (3) consecutive hours, each with at least
    --min-cold-samples (20) cold samples;
  - Mongo connection errors > --max-mongo-error-pct (2) % of the hour's cmd_timing events,
    dual-write failures > --max-dual-write-pct (1) %, exceededCpu > --max-cpu-exceeded-pct (1) %,
    each only with at least --min-failures (5) in that hour ('off' disables one);
  - with --atlas-group/--atlas-process: Atlas connections above --atlas-max-pct (60) % of
    --atlas-cap (500), read after each pull.
Exit 4 (PIVOT) as soon as one fires, naming it with its figures. At EOF or the end of
--duration without one: analyze-soak's decision on all events (0 PROCEED/REPORT-ONLY, 4 PIVOT,
5 INCONCLUSIVE). Network errors are retried and never end the watch."""
from __future__ import annotations

import argparse

from cutover.commands import _args
from cutover.commands._args import non_negative_int

EXAMPLES = """\
  # live from the Worker's tail; stops (exit 4) when cold P95 stays above 2.5 x 420 ms for 3 hours
  wrangler tail bot --format json | cutover soak-watch --input - --baseline-cold-ping-ms 420 \\
      --output soak-decision.md --json soak.json --chart soak.svg

  # follow the file a `wrangler tail bot --format json > soak.log` (or a Logpush sink) is writing
  cutover soak-watch --input soak.log --baseline-cold-ping-ms 420 --gate-cmd /start --json soak.json

  # the whole 72 h soak from the Observability API, a pull every 5 min, paging yourself on the end
  # (CLOUDFLARE_API_TOKEN with Workers Observability Read, CLOUDFLARE_ACCOUNT_ID)
  cutover soak-watch --from-api --script bot --since 2026-11-27T18:00:00Z --duration 72h \\
      --baseline-cold-ping-ms 420 --state soak-watch.state.json --on-stop './page-me.sh'
  # killed? the same command again: it resumes from --state and counts nothing twice

  # also stop when Atlas connections pass 60 % of the M10 cap (ATLAS_* keys in the environment)
  cutover soak-watch --from-api --script bot --atlas-group 5f1a2b3c4d5e6f7a8b9c0d1e \\
      --atlas-process cluster0-shard-00-01.ab1cd.mongodb.net:27017 --atlas-cap 1500
"""


def _duration_ms(text: str) -> int:
    """'5m', '72h', '90s', '1d', or a plain number of seconds."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*", text, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"expected a duration like 30s, 5m, 72h: {text!r}")
    unit = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}[(m.group(2) or "s").lower()]
    value = int(round(float(m.group(1)) * unit))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_argument_group("where the logs come from (one of)")
    one = src.add_mutually_exclusive_group(required=True)
    one.add_argument("--input", "-i", metavar="FILE|-",
                     help="a log file, followed like tail -F (appends, rotation) while the soak's window is open; "
                          "or '-' to follow stdin until EOF (wrangler tail --format json | ...)")
    one.add_argument("--from-api", action="store_true", help="pull the Workers Observability API every --interval")
    src.add_argument("--no-follow", dest="follow", action="store_false",
                     help="--input FILE: read it to its end once and decide (a finished soak's log, a test)")
    src.add_argument("--wait-for-file", action="store_true",
                     help="--input FILE not there yet: wait for the writer to create it (default: an error)")
    src.add_argument("--script", metavar="NAME", help="Worker script name (with --from-api)")
    src.add_argument("--api-delay", type=_duration_ms, default=120_000, metavar="DURATION",
                     help="pull only logs older than this; Workers Logs arrive with a lag (default 2m)")
    _args.add_time_window(parser, "events", until=False)
    _args.add_cloudflare(parser, headroom_alias=True, limit=False)
    sched = parser.add_argument_group("schedule and state")
    sched.add_argument("--interval", type=_duration_ms, default=300_000, metavar="DURATION",
                       help="time between pulls / status lines (default 5m)")
    sched.add_argument("--duration", type=_duration_ms, default=72 * 3_600_000, metavar="DURATION",
                       help="length of the soak in event time from --since (default 72h; --since defaults to now "
                            "with --from-api, to the first event with --input)")
    sched.add_argument("--state", metavar="FILE",
                       help="figures and position, saved after each pull (--from-api default soak-watch.state.json; "
                            "with --input - a restarted pipe goes on from it)")
    gate = _args.add_gate(parser, "gate and stop-conditions", live=True)
    gate.add_argument("--stop-hours", type=non_negative_int, default=3, metavar="N",
                      help="consecutive event-hours with cold P95 above the threshold that stop the soak (default 3)")
    gate.add_argument("--max-mongo-error-pct", type=_args.percent_or_off, default=2.0, metavar="PCT|off",
                      help="stop when an hour's Mongo connection errors exceed PCT %% of its cmd_timing events (default 2)")
    gate.add_argument("--max-dual-write-pct", type=_args.percent_or_off, default=1.0, metavar="PCT|off",
                      help="stop when an hour's dual-write failures exceed PCT %% (default 1)")
    gate.add_argument("--max-cpu-exceeded-pct", type=_args.percent_or_off, default=1.0, metavar="PCT|off",
                      help="stop when an hour's exceededCpu invocations exceed PCT %% (default 1)")
    gate.add_argument("--min-failures", type=non_negative_int, default=5, metavar="N",
                      help="a failure rate stops the soak only with at least N failures in the hour (default 5)")
    _args.add_atlas(parser, poll_interval=False, stop="stop the soak", can_be_off=True)
    out = parser.add_argument_group("output")
    out.add_argument("--output", "-o", default="soak-decision.md", metavar="FILE.md",
                     help="markdown report, rewritten after each pull (default soak-decision.md; '-' = stdout at the end)")
    out.add_argument("--json", metavar="FILE|-", help="analyze-soak's JSON plus `stop` and `watch`, after each pull ('-' = stdout at the end)")
    out.add_argument("--chart", metavar="FILE.svg", help="SVG chart, rewritten after each pull")
    out.add_argument("--on-stop", metavar="CMD",
                     help="shell command run when the watch ends with a decision; SOAK_DECISION, SOAK_CONDITION, "
                          "SOAK_DETAIL, SOAK_EXIT_CODE ... in its environment, no secret")
    _args.add_counting_rules(parser, "counting rules (as analyze-soak)")


def options_from(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The feature's Options from the parsed flags (no check here: `soakwatch.options.resolved`)."""
    from cutover.soakwatch.conditions import Limits
    from cutover.soakwatch.options import Options

    return _args.options(Options, args, renamed={"duration": "duration_ms", "interval": "interval_s",
                                                 "api_delay": "api_delay_ms"}, parts={"limits": Limits},
                         interval_s=args.interval / 1000.0)


def run(args: argparse.Namespace) -> int:
    from cutover.soakwatch.run import run as watch

    return watch(options_from(args))
