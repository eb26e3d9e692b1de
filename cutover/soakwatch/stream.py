"""soak-watch --input FILE|-: a log export, or stdin followed until EOF (wrangler tail | ...)."""
from __future__ import annotations

import io
import os
import queue
import sys
import threading
from typing import Any, BinaryIO, Callable

from cutover.core.checkpoint import Checkpoint
from cutover.core.timespec import parse_time_ms
from cutover.errors import CutoverError, UsageError
from cutover.soak import jsonstream
from cutover.soak.formats import csvrows
from cutover.soak.inputs import container_of, open_input
from cutover.soakwatch.options import Options
from cutover.soakwatch.session import Runtime, Session
from cutover.soakwatch.watch import Watch


class _Follow:
    """read(n) returns what has arrived (at least one byte, or b'' at the end), so a live pipe is
    decoded as it comes instead of waiting for a full block."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def read(self, n: int) -> bytes:
        return self.stream.read1(n)


def _own_stdin() -> BinaryIO | None:
    """stdin on a descriptor of our own: the reader thread may still block on it when the watch
    ends, and a thread inside sys.stdin's buffer aborts the interpreter at exit."""
    try:
        return open(os.dup(sys.stdin.fileno()), "rb", buffering=0)  # noqa: SIM115 - lives as long as the reader
    except (OSError, ValueError, AttributeError):
        return None


def _pump(stream: Any, chunks: queue.Queue) -> None:
    """The reader thread: raw blocks as they arrive (b'' at the end); decoding stays in the main thread."""
    try:
        while True:
            data = stream.read1(1 << 16)
            chunks.put(data)
            if not data:
                return
    except BaseException as exc:  # noqa: BLE001 - handed to the main thread
        chunks.put(exc)


class _Chunks(io.RawIOBase):
    """The pumped blocks as a stream; while nothing arrives, `idle()` runs (status, Atlas, outputs)."""

    def __init__(self, chunks: queue.Queue, idle: Callable[[], float]) -> None:
        self.chunks = chunks
        self.idle = idle  # returns how long to wait before calling it again
        self.leftover = b""
        self.ended = False
        self.wait = 1.0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        while not self.leftover:
            if self.ended:
                return 0
            try:
                item = self.chunks.get(timeout=max(0.01, min(1.0, self.wait)))
            except queue.Empty:
                self.wait = self.idle()
                continue
            if isinstance(item, BaseException):
                raise item
            if not item:
                self.ended = True
                return 0
            self.leftover = item
        n = min(len(buffer), len(self.leftover))
        buffer[:n] = self.leftover[:n]
        self.leftover = self.leftover[n:]
        return n


class _End(Exception):
    """The watch decided (stop-condition, end of the window or of the input)."""


class StreamWatch:
    """One stream read to its end (or to a decision), judged as its events arrive."""

    def __init__(self, options: Options, rt: Runtime) -> None:
        self.options = options
        self.rt = rt
        self.name = options.input or "-"
        self.checkpoint: Checkpoint | None = None
        if options.state:
            if self.name != "-":
                raise UsageError("--state resumes --from-api or --input - (a live stream); a file is simply read again")
            self.checkpoint = Checkpoint(options.state, {"command": "soak-watch", "source": "stream"})
        self.session = self._open()
        self.next_tick = rt.clock() + options.interval_s

    def _open(self) -> Session:
        """The saved figures of a restarted pipe (--state), else a new watch from --since."""
        options, rt = self.options, self.rt
        now_ms = int(rt.clock() * 1000)
        since_ms = parse_time_ms(options.since, now_ms, "--since") if options.since else None
        until_ms = since_ms + options.duration_ms if since_ms is not None else None
        session = Session(options, rt, Watch(options.patterns, since_ms, until_ms, gate_cmd=options.limits.gate_cmd), "stream")
        if self.checkpoint is not None and self.checkpoint.load():
            saved = self.checkpoint.state
            since_ms, until_ms = saved.get("since_ms"), saved.get("until_ms")
            watch = Watch.from_json(saved["watch"], options.patterns, since_ms, until_ms, f"--state {options.state}",
                                     options.limits.gate_cmd)
            session = Session(options, rt, watch, "stream")
            session.started, session.pulls = float(saved["started"]), int(saved["pulls"])
            session.say(f"soak-watch: resuming from {options.state}: {watch.tally.cmd_timing:,} samples counted; "
                        "counting the new stream on top")
        session.since_ms, session.until_ms = since_ms, until_ms
        return session

    def save(self) -> None:
        if self.checkpoint is not None:
            session = self.session
            self.checkpoint.state = {"since_ms": session.since_ms, "until_ms": session.until_ms,
                                     "watch": session.watch.to_json(), "started": session.started,
                                     "pulls": session.pulls}
            self.checkpoint.save()

    def due(self) -> float:
        """The periodic status, outputs and Atlas check; seconds until the next one."""
        rt, session = self.rt, self.session
        if rt.clock() >= self.next_tick:
            session.pulls += 1
            session.tick()
            self.save()
            if session.stop is not None:
                raise _End
            self.next_tick = rt.clock() + self.options.interval_s
        return self.next_tick - rt.clock()

    def judge(self, eof: bool) -> None:
        session, watch = self.session, self.session.watch
        if session.until_ms is None and watch.first_ms is not None:
            # No --since: the window starts with the first event.
            session.since_ms = watch.first_ms
            session.until_ms = watch.counter.until_ms = watch.first_ms + self.options.duration_ms
        ended = eof or (session.until_ms is not None and watch.latest_ms is not None
                        and watch.latest_ms >= session.until_ms)
        if ended or watch.new_hour_known():
            session.stop = watch.judge(self.options.limits, eof=ended)
        if session.stop is not None or ended:
            raise _End
        self.due()

    def _count(self, kind: str, stream: BinaryIO) -> None:
        """Every record of the stream, judged as it comes; raises _End at a decision."""
        watch = self.session.watch
        if kind == "csv":
            for row in csvrows.rows(stream):  # type: ignore[arg-type]
                if row is None:
                    watch.tally.malformed += 1
                else:
                    watch.record(csvrows.row_record(row))
                self.judge(False)
        elif kind != "empty":
            for value in jsonstream.values(_Follow(stream)):  # type: ignore[arg-type]
                watch.count_value(value)
                self.judge(False)

    def _read(self, source: Any, kind: str, stream: BinaryIO) -> None:
        watch = self.session.watch
        try:
            self._count(kind, stream)
            if source.read_error:
                watch.tally.malformed += 1  # the rest of a cut-short .gz
                self.session.warn(f"soak-watch: {self.name}: compressed data ends early ({source.read_error}); "
                                  "read what was there", always=True)
            if watch.tally.records == 0 and watch.tally.malformed > 0:
                raise CutoverError(f"--input {self.name}: not a log export: no record could be read "
                                   f"({watch.tally.malformed:,} malformed)")
            self.judge(True)
        except _End:
            pass

    def run(self) -> int:
        rt, session = self.rt, self.session
        source = open_input(self.name, rt.stdin if rt.stdin is not None else _own_stdin())
        kind = session.source = container_of(source.head)
        chunks: queue.Queue = queue.Queue(maxsize=64)
        threading.Thread(target=_pump, args=(source.stream, chunks), name="soak-watch-reader", daemon=True).start()
        stream = io.BufferedReader(_Chunks(chunks, self.due), buffer_size=1 << 16)
        try:
            self._read(source, kind, stream)  # type: ignore[arg-type]
        except KeyboardInterrupt:
            self.save()
            session.write_reports(session.result(), final=False)
            hint = (f"figures saved in {self.options.state}: restart the pipe with the same --state to go on"
                    if self.checkpoint else "the report holds the figures so far")
            session.warn(f"soak-watch: interrupted; {hint}", always=True)
            raise
        session.pulls += 1
        if session.stop is None:
            session.stop = session.check_atlas()
        self.save()
        return session.finish()


def run_stream(options: Options, rt: Runtime) -> int:
    return StreamWatch(options, rt).run()
