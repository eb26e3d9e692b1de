"""The function API: analyze(paths, options) -> SoakResult; render_markdown / to_json in report.py."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Dict, List, Sequence, Tuple

from cutover.core import malloc
from cutover.core.stats import Summary, percentile_sorted, summarize
from cutover.errors import CutoverError
from cutover.soak import fastpath
from cutover.soak.gate import Gate, decide
from cutover.soak.inputs import Source, container_of, open_input
from cutover.soak.model import Patterns, Tally
from cutover.soak.rules import Counter

PARALLEL_MIN_BYTES = 64 << 20  # below this a second process costs more than it saves


@dataclass
class Options:
    baseline_cold_ping_ms: float | None = None
    factor: float = 2.5
    gate_cmd: str | None = None
    min_cold_samples: int = 20
    patterns: Patterns = field(default_factory=Patterns)
    since_ms: int | None = None
    until_ms: int | None = None
    jobs: int = 0  # 0 = one per CPU
    fast: bool = True  # False: every record through full JSON parsing
    hourly: bool = True  # p95 per hour (the chart and the report's table)
    chart: bool = False  # keep the sorted warm population for the distribution chart
    progress: bool = False  # a progress line on stderr (only drawn on a terminal)
    date_order: str | None = None  # spreadsheet dates: "dmy" or "mdy"; None = learn it from the file


@dataclass
class InputSummary:
    name: str
    container: str
    formats: Dict[str, int]
    records: int
    malformed: int
    fast_records: int
    unrecognized: int = 0
    kept_without_time: int = 0  # events a --since/--until window could not place
    timed: bool = False  # at least one event had a readable time


@dataclass
class GroupResult:
    cmd: str
    cold: bool
    summary: Summary


@dataclass
class SoakResult:
    gate: Gate
    groups: List[GroupResult]
    tally: Tally
    inputs: List[InputSummary]
    cold_values: List[float]  # sorted, the gate's population
    warm_values: List[float]  # sorted
    hourly: List[Tuple[int, float | None, int, float | None, int]]  # (hour ms, cold p95, n, warm p95, n)
    options: Options

    @property
    def decision(self) -> str:
        return self.gate.decision

    @property
    def exit_code(self) -> int:
        return self.gate.exit_code


def _scan_json(counter: Counter, stream: BinaryIO) -> None:
    fastpath.exact_stream(counter, stream)


def _scan_range(path: str, start: int, end: int, template: Counter,
                on_read: Callable[[int], None] | None = None) -> Tuple[Tally, int]:
    """One byte range of a plain Logpush file (whole lines: start and end sit just after a newline);
    its tally and where its counting stopped (past end when the lines of one value run on)."""
    counter = fastpath.new_tally_counter(template)
    with open(path, "rb", buffering=0) as handle:
        stop = fastpath.scan_file_range(counter, handle, start, end, on_read=on_read)
    counter.tally.settle()
    return counter.tally, stop


def _ranges(path: str, size: int, parts: int) -> List[Tuple[int, int]]:
    """Split [0, size) into `parts` ranges that start right after a newline."""
    cuts = [0]
    with open(path, "rb") as handle:
        for i in range(1, parts):
            handle.seek(size * i // parts)
            handle.readline()
            cuts.append(max(handle.tell(), cuts[-1]))
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _pool(workers: int):  # type: ignore[no-untyped-def]
    """A fork-based process pool, or None where processes are unavailable (no fork, no /dev/shm)."""
    import concurrent.futures
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
        return concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context)
    except (ValueError, OSError, ImportError, NotImplementedError):
        return None


def _scan_parallel(path: str, size: int, counter: Counter, jobs: int, on_read: Callable[[int], None] | None) -> None:
    from cutover.core import forked  # (and pickle): only a file big enough to split pays for them

    ranges = _ranges(path, size, jobs)
    # The parent takes the first range itself; forked children the rest (where fork is not
    # available, the parent reads those too).
    children: List[forked.Child | None] = []  # None: the parent reads that range itself
    try:
        children = [forked.start(_scan_range, path, start, end, counter) for start, end in ranges[1:]]
        # Progress: the parent's own range stands for all of them (they run at the same pace).
        share = 1 + sum(child is not None for child in children)
        scaled = (lambda n: on_read(n * share)) if on_read is not None else None
        results = [_scan_range(path, ranges[0][0], ranges[0][1], counter, scaled)]
        for (start, end), child in zip(ranges[1:], children):
            results.append(child.result() if child is not None else _scan_range(path, start, end, counter))
    except BaseException:
        for child in children:
            if child is not None:
                child.stop()
        raise
    # A range's last lines may be one value (or a cut-short line) that runs on into the next
    # range: the next range's count then started mid-value and is redone from where this one
    # stopped (the stream decoder alone knows where values begin there).
    pos = 0
    for (start, end), (tally, stop) in zip(ranges, results):
        if pos == start:
            counter.tally.merge(tally)
            pos = stop
        elif pos < end:
            redo = fastpath.new_tally_counter(counter)
            with open(path, "rb", buffering=0) as handle:
                pos = fastpath.scan_file_range(redo, handle, pos, end)
            redo.tally.settle()
            counter.tally.merge(redo.tally)


def scan_source(source: Source, counter: Counter, options: Options, on_read: Callable[[int], None] | None = None) -> str:
    """Count one opened input into counter.tally; returns the container kind."""
    kind = container_of(source.head)
    if kind == "empty":
        return kind
    if kind == "csv":
        from cutover.soak.formats import csvrows  # the readers of other containers: imported when met

        csvrows.scan(counter, source.stream, options.date_order)
        return kind
    if kind == "tail-pretty":
        from cutover.soak.formats import tailpretty

        for record in tailpretty.records(source.stream):
            counter.record(record)
        return kind
    fast = options.fast and fastpath.fast_path_usable(counter) and fastpath.looks_like_logpush_lines(source.head)
    if not fast:
        _scan_json(counter, source.stream)
        return kind
    if source.size is None or source.size > 2 * fastpath.BLOCK:  # blocks of their own to allocate, again and again
        malloc.keep_freed_memory()
    jobs = options.jobs or os.cpu_count() or 1
    if source.size is not None and source.size >= PARALLEL_MIN_BYTES and jobs > 1:
        source.stream.close()
        _scan_parallel(source.name, source.size, counter, jobs, on_read)
        return "ndjson"
    if source.size is not None and source.size > 0 and source.name != "-":
        source.stream.close()  # plain file: read by offset in large blocks (no buffered copy)
        with open(source.name, "rb", buffering=0) as handle:
            fastpath.scan_file_range(counter, handle, 0, source.size, on_read=on_read)
        return "ndjson"
    fastpath.scan_stream(counter, source.stream.readinto)  # type: ignore[attr-defined]
    return "ndjson"


def _sorted_values(tally: Tally, predicate: Callable[[str, bool], bool]) -> list[float]:
    values: list[float] = []
    for (cmd, cold), group in tally.groups.items():
        if predicate(cmd, cold):
            values.extend(group.settled)
    values.sort()  # sorted runs: merged in linear time
    return values


def _hourly(tally: Tally) -> list[tuple[int, float | None, int, float | None, int]]:
    """P95 per UTC hour, cold and warm, from the settled hour buckets."""
    rows = []
    for hour in sorted({hour for hour, _cold in tally.hourly}):
        cold_values = tally.hourly.get((hour, True), ())
        warm_values = tally.hourly.get((hour, False), ())
        rows.append((hour, percentile_sorted(cold_values, 0.95), len(cold_values),
                     percentile_sorted(warm_values, 0.95), len(warm_values)))
    return rows


def summarize_tally(tally: Tally, inputs: List[InputSummary], options: Options) -> SoakResult:
    tally.settle()
    groups = []
    for (cmd, cold), group in sorted(tally.groups.items(), key=lambda item: (item[0][0], item[0][1])):
        if len(group):
            groups.append(GroupResult(cmd, cold, summarize(group.settled, already_sorted=True)))
    gate_cmd = options.gate_cmd
    cold_values = _sorted_values(tally, lambda cmd, cold: cold and (gate_cmd is None or cmd == gate_cmd))
    # The warm population is only drawn (chart); sorting it is skipped otherwise.
    warm_values = _sorted_values(tally, lambda cmd, cold: not cold and (gate_cmd is None or cmd == gate_cmd)) if options.chart else []
    gate = decide(percentile_sorted(cold_values, 0.95), len(cold_values), options.baseline_cold_ping_ms,
                  options.factor, options.min_cold_samples, gate_cmd)
    hourly = _hourly(tally) if options.hourly else []
    return SoakResult(gate, groups, tally, inputs, cold_values, warm_values, hourly, options)


def _scan_path(path: str, options: Options, stdin: BinaryIO | None = None,
               in_child: bool = False, progress: bool = False) -> tuple[Tally, str, str | None]:
    """One input, start to end: its tally (settled when run in a worker), container kind, read error."""
    counter = Counter(Tally(), options.patterns, options.since_ms, options.until_ms)
    bar = None
    if progress and path != "-":
        from cutover.core.progress import Progress

        try:
            total_mb = max(1, os.path.getsize(path) >> 20)
        except OSError:
            total_mb = None
        bar = Progress(f"reading {os.path.basename(path)}", total=total_mb, unit=" MB")
    pending = [0]

    def on_read(n: int) -> None:
        pending[0] += n
        if bar is not None and pending[0] >= 1 << 20:
            bar.update(pending[0] >> 20)
            pending[0] &= (1 << 20) - 1

    source = open_input(path, stdin, on_read if bar is not None else None)
    if in_child:
        options = dataclasses.replace(options, jobs=1)  # no processes inside a worker
    try:
        kind = scan_source(source, counter, options, on_read if bar is not None else None)
    except CutoverError as exc:  # a reader's complaint (e.g. spreadsheet dates) names the input it is about
        raise CutoverError(f"--input {path}: {exc.message}", exc.exit_code) from None
    finally:
        source.stream.close()
        if bar is not None:
            bar.close()
    if source.read_error:
        counter.tally.malformed += 1  # the rest of a corrupt or cut-short .gz: one malformed record
    if in_child:
        counter.tally.settle()
    return counter.tally, kind, source.read_error


def _scan_all(paths: Sequence[str], options: Options, stdin: BinaryIO | None) -> list[tuple[Tally, str, str | None]]:
    """Several files are read by several processes (one file each); stdin and a single file here."""
    jobs = options.jobs or os.cpu_count() or 1
    files = [p for p in paths if p != "-"]
    pool = _pool(min(jobs, len(files))) if jobs >= 2 and len(files) >= 2 else None
    if pool is None:
        return [_scan_path(path, options, stdin, progress=options.progress) for path in paths]
    with pool:
        futures = {path: pool.submit(_scan_path, path, options, None, True) for path in files}
        results = {}
        if "-" in paths:
            results["-"] = _scan_path("-", options, stdin)
        for path, future in futures.items():
            results[path] = future.result()
    return [results[path] for path in paths]


def analyze(paths: Sequence[str], options: Options | None = None, stdin: BinaryIO | None = None,
            note: Callable[[str], None] | None = None) -> SoakResult:
    """Read every input (files, `-` for stdin), apply the counting rules, compute figures and the gate."""
    options = options or Options()
    if list(paths).count("-") > 1:
        raise CutoverError("stdin (-) can be read only once")
    total = Tally()
    inputs: List[InputSummary] = []
    for path, (tally, kind, read_error) in zip(paths, _scan_all(paths, options, stdin)):
        if read_error and note:
            note(f"{path}: compressed data ends early ({read_error}); read what was there")
        inputs.append(InputSummary(path, kind, dict(tally.formats), tally.records, tally.malformed, tally.fast_records,
                                   tally.unrecognized, tally.kept_without_time,
                                   tally.first_ms is not None or tally.outside_window > 0))
        if note:
            note(f"{path}: {tally.records:,} records ({kind}), {tally.cmd_timing:,} cmd_timing, {tally.malformed:,} malformed")
        total.merge(tally)
    return summarize_tally(total, inputs, options)
