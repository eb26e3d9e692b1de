"""analyze-soak: read the exports, count, decide, write the report, the JSON and the chart.

Exit 0 PROCEED or REPORT-ONLY, 4 PIVOT, 5 INCONCLUSIVE (the gate's code, returned); an input in
which not one record could be read is a CutoverError (exit 1): it is not a log export.
"""
from __future__ import annotations

import os
import time
from typing import List, Tuple
from urllib.parse import quote

from cutover.core.console import Console
from cutover.core.fsutil import write_output
from cutover.core.timespec import parse_time_ms
from cutover.errors import CutoverError, UsageError
from cutover.soak import options as opts
from cutover.soak import report
from cutover.soak.analyze import InputSummary, Options, SoakResult, analyze
from cutover.soak.options import AnalyzeOptions

FORMATS_HINT = ("Logpush NDJSON, wrangler tail (json or pretty), Observability rows (fetch-logs), "
                "CSV or NDJSON cmd_timing events")


def window(since: str | None, until: str | None, now_ms: int) -> Tuple[int | None, int | None]:
    """--since / --until in epoch ms (None when not given); UsageError when until is not later."""
    since_ms = parse_time_ms(since, now_ms, "--since") if since else None
    until_ms = parse_time_ms(until, now_ms, "--until") if until else None
    if since_ms is not None and until_ms is not None and until_ms <= since_ms:
        raise UsageError("--until must be later than --since")
    return since_ms, until_ms


def analysis(options: AnalyzeOptions, now_ms: int) -> Options:
    """The analysis core's options for this request (the baseline read from the environment
    when the flag is not given, the patterns checked, the window in ms)."""
    since_ms, until_ms = window(options.since, options.until, now_ms)
    return Options(
        baseline_cold_ping_ms=opts.baseline(options.baseline_cold_ping_ms), factor=options.factor,
        gate_cmd=options.gate_cmd, min_cold_samples=options.min_cold_samples,
        patterns=opts.check_patterns(options.patterns), since_ms=since_ms, until_ms=until_ms,
        jobs=options.jobs, fast=not options.exact, hourly=True, chart=bool(options.chart),
        progress=not options.quiet, date_order=options.date_order,
    )


def write(path: str, text: str) -> None:
    """Atomic replace for regular files; /dev/null, a FIFO or /dev/stdout are written in place
    (an atomic rename would replace the device node itself when running as root)."""
    if path != "-" and os.path.exists(path) and not os.path.isfile(path):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    write_output(path, text)


def why_no_records(source: InputSummary) -> str:
    """One line: why an input gave no record, and what to do about it."""
    if source.container == "empty":
        return "is empty: no log record to analyze (was the capture running?); check the file or leave it out"
    if source.malformed:
        return (f"not a log export: no record could be read ({source.malformed:,} malformed); "
                f"expected {FORMATS_HINT}")
    if source.unrecognized:
        what = "row(s) without a log column" if source.container == "csv" else "value(s) of an unknown shape"
        return (f"not a log export: {source.unrecognized:,} {what} and no log record; "
                f"expected {FORMATS_HINT}")
    return "holds no log record (an empty export?); widen the export's time range or leave the file out"


def chart_link(chart: str | None, output: str) -> str | None:
    """The chart as the report links it: relative to the report's folder (the two travel together
    off the bastion), URL-encoded. A chart sent to stdout cannot be linked."""
    if not chart or chart == "-":
        return None
    folder = os.getcwd() if output == "-" else os.path.dirname(os.path.abspath(output))
    try:
        relative = os.path.relpath(os.path.abspath(chart), folder)
    except ValueError:  # another drive (Windows): only an absolute path reaches it
        relative = os.path.abspath(chart)
    return quote(relative.replace(os.sep, "/"), safe="/:")


def check_inputs(inputs: List[InputSummary], window_flags: str, console: Console) -> None:
    """The documented exit 1 for a bad input: one in which not a single record could be read is
    not a log export at all (a wrong file, an empty capture) and must not pass as REPORT-ONLY or
    INCONCLUSIVE; nor may a window be asked of an input with no readable time."""
    for source in inputs:
        if source.records == 0 and source.container != "empty":
            raise CutoverError(f"--input {source.name}: {why_no_records(source)}")
    empty = [source for source in inputs if source.records == 0]
    if len(empty) == len(inputs):  # nothing at all to judge
        raise CutoverError(f"--input {empty[0].name}: {why_no_records(empty[0])}")
    for source in empty:  # an empty file beside others (a quiet hour's export) is not the wrong file
        console.item(f"--input {source.name} is empty: no records in it")
    if not window_flags:
        return
    for source in inputs:
        if source.kept_without_time and not source.timed:
            fix = ("capture with `wrangler tail --format json` (pretty text has no zone-qualified times)"
                   if source.container == "tail-pretty" else "export it with ISO-8601 or epoch-ms times")
            raise CutoverError(f"--input {source.name}: {window_flags} asked, but no timestamp could be read in it "
                               f"({source.kept_without_time:,} event(s) without one); {fix}, or run without {window_flags}")
        if source.kept_without_time:
            console.item(f"--input {source.name}: {source.kept_without_time:,} event(s) have no readable time and "
                         f"were kept although {window_flags} was asked")


def write_outputs(result: SoakResult, options: AnalyzeOptions) -> None:
    if options.chart:
        from cutover.soak import svg  # only a run that draws the chart pays for its import

        title = f"Soak: {result.decision} — cold n={len(result.cold_values):,}, warm n={len(result.warm_values):,}"
        write(options.chart, svg.chart(result.cold_values, result.warm_values, result.hourly, title,
                                       result.gate.threshold_ms))
    if options.output:
        write(options.output, report.render_markdown(result, chart_link(options.chart, options.output)))
    if options.json:
        write(options.json, report.json_text(result))


def run(options: AnalyzeOptions) -> int:
    """Analyze the inputs and write what was asked; the gate's exit code."""
    if options.inputs.count("-") > 1:
        raise UsageError("--input - (stdin) can be given only once")
    opts.one_stdout((("--output", options.output), ("--json", options.json), ("--chart", options.chart)))
    console = Console(options.quiet, options.verbose)
    core = analysis(options, int(time.time() * 1000))

    def note(message: str) -> None:
        # A cut-short or corrupt .gz is a warning the operator must see without --verbose: the
        # figures then cover only part of the soak. (analyze.py gives notes no level; its text does.)
        if "ends early" in message:
            console.item(message)
        else:
            console.debug(message)

    result = analyze(list(options.inputs), core, note=note)
    window_flags = " and ".join(flag for flag, value in (("--since", core.since_ms), ("--until", core.until_ms))
                                if value is not None)
    check_inputs(result.inputs, window_flags, console)
    write_outputs(result, options)
    console.info(f"analyze-soak: {result.decision}: {result.gate.reason}")
    return result.exit_code
