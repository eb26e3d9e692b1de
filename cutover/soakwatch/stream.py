"""soak-watch --input FILE|-: a log file followed while it is written (follow.py), or stdin read
until EOF (wrangler tail | ...)."""
from __future__ import annotations

import io
import os
import queue
import re
import stat
import sys
import threading
from typing import Any, BinaryIO, Callable

from cutover.core.checkpoint import Checkpoint
from cutover.core.progress import format_duration
from cutover.core.timespec import iso_ms, parse_time_ms
from cutover.errors import CutoverError, UsageError
from cutover.soak import jsonstream
from cutover.soak.formats import csvrows
from cutover.soak.inputs import GZIP_MAGIC, container_of, open_input
from cutover.soak.model import Record, Tally
from cutover.soakwatch import follow
from cutover.soakwatch.options import Options
from cutover.soakwatch.session import Runtime, Session
from cutover.soakwatch.watch import Watch

_LINE_STARTS_VALUE = re.compile(r"(?:^|\n)[ \t\ufeff]*[\[{]")


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


class _JudgedSink:
    """The watch as the record sink analyze-soak's readers feed, judging after each record."""

    def __init__(self, watch: Watch, judge: Callable[[bool], None]) -> None:
        self.watch = watch
        self.judge = judge

    @property
    def tally(self) -> Tally:
        return self.watch.tally

    def record(self, record: Record) -> None:
        self.watch.record(record)
        self.judge(False)


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
        self.opened_ms = int(rt.clock() * 1000)
        self._quiet = (-1, rt.clock(), False)  # (records read, since when, said) for the quiet-file note
        self._decoder: jsonstream.Decoder | None = None  # the JSON input's decoder (what it holds unread)

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
            csvrows.scan(_JudgedSink(watch, self.judge), stream)  # type: ignore[arg-type]  # analyze-soak's CSV reading
        elif kind != "empty":
            self._decoder = jsonstream.Decoder(_Follow(stream))  # type: ignore[arg-type]
            for value in self._decoder:
                watch.count_value(value)
                self.judge(False)

    def _counted(self, source: Any, kind: str, stream: BinaryIO) -> None:
        """One opened input counted to its end; a cut-short .gz is said."""
        self._count(kind, stream)
        if source.read_error:
            self.session.watch.tally.malformed += 1  # the rest of a cut-short .gz
            self.session.warn(f"soak-watch: {self.name}: compressed data ends early ({source.read_error}); "
                              "read what was there", always=True)

    def _check_readable(self, so_far: bool = False) -> None:
        """No record could be read: the wrong file. `so_far`: at the end of what a writer wrote so
        far, where the decoder still holds complete lines none of which starts a JSON value."""
        tally = self.session.watch.tally
        if tally.records == 0 and (tally.malformed > 0 or (so_far and self._holds_only_junk())):
            raise CutoverError(f"--input {self.name}: not a log export: no record could be read "
                               f"({max(1, tally.malformed):,} malformed)")

    def _holds_only_junk(self) -> bool:
        if self._decoder is None:
            return False
        held = self._decoder.pending_text()
        complete = held[: held.rfind("\n") + 1]  # a last line may still be being written
        return bool(complete.strip()) and _LINE_STARTS_VALUE.search(complete) is None

    def _read(self, count: Callable[[], None]) -> None:
        try:
            count()
            self._check_readable()
            self.judge(True)
        except _End:
            pass

    # -- a stream (stdin, a pipe, --no-follow): read to its end on a thread of its own ---------
    def _pump_stream(self) -> None:
        source = open_input(self.name, self.rt.stdin if self.rt.stdin is not None else _own_stdin())
        kind = self.session.source = container_of(source.head)
        chunks: queue.Queue = queue.Queue(maxsize=64)
        threading.Thread(target=_pump, args=(source.stream, chunks), name="soak-watch-reader", daemon=True).start()
        self._counted(source, kind, io.BufferedReader(_Chunks(chunks, self.due), buffer_size=1 << 16))  # type: ignore[arg-type]

    # -- a file still being written: followed like tail -F ---------------------------------------
    def _follow_file(self) -> None:
        """Each opening of the file read as it grows; after a rotation or truncation the name is
        read again from its start (its own format sniffed again: a new file has its own header)."""
        tail = self._open_tail(self.options.wait_for_file)
        while True:
            try:
                source = open_input(self.name, opened=tail)  # type: ignore[arg-type]  # the sniff waits for a first byte
                kind = self.session.source = container_of(source.head)
                self._counted(source, kind, source.stream)  # type: ignore[arg-type]
            finally:
                tail.close()
            if tail.changed is None:
                return  # the follow is over (the window's end on the clock)
            how = ("was replaced (log rotation): reading the new file from its start" if tail.changed == follow.REPLACED
                   else "was truncated: reading it again from its start")
            self.session.warn(f"soak-watch: {self.name} {how}")
            tail = self._open_tail(True)

    def _open_tail(self, wait_for_it: bool) -> follow.TailFile:
        said = False
        while True:
            try:
                return follow.TailFile(self.name, self._wait_for_more)
            except FileNotFoundError:
                if not wait_for_it:
                    raise CutoverError(f"--input {self.name}: no such file; start the writer first "
                                       f"(wrangler tail NAME --format json > {self.name}) or add --wait-for-file "
                                       "to wait for it") from None
            except OSError as exc:
                raise CutoverError(f"cannot read --input {self.name}: {exc.strerror or exc}") from None
            if not said:
                self.session.say(f"soak-watch: waiting for {self.name} to appear")
                said = True
            if not self._wait_for_more():
                raise CutoverError(f"--input {self.name} never appeared before the end of the soak's window; "
                                   "nothing was judged: check the writer and the path, then run again")

    def follow_until(self) -> float | None:
        """Clock time (s) up to which the end of the file is waited at: the soak's window end (--since,
        else the first event, + --duration; before any event: from now) plus the grace for late lines.
        None: no window to wait in (records that carry no time): the file is read to its end."""
        session = self.session
        if session.until_ms is not None:
            end_ms = session.until_ms
        elif session.watch.tally.records:
            return None
        else:
            end_ms = self.opened_ms + self.options.duration_ms
        return (end_ms + follow.GRACE_MS) / 1000.0

    def _wait_for_more(self) -> bool:
        """At the end of what is written so far: the periodic tick, then one poll's sleep (True) or,
        once the window is over on the clock, the end (False)."""
        self._check_readable(so_far=True)  # a file that is no log export is said now, not after the soak
        self.due()
        rt = self.rt
        now, until = rt.clock(), self.follow_until()
        if until is None or now >= until:
            return False
        self._quiet_note(now, until)
        rt.sleep(min(follow.POLL_S, until - now))
        return True

    def _quiet_note(self, now: float, until: float) -> None:
        """A file that has not grown for a while is said once per quiet spell (the writer may be gone)."""
        read = self.session.watch.tally.records + self.session.watch.tally.malformed
        if read != self._quiet[0]:
            self._quiet = (read, now, False)
        elif not self._quiet[2] and now - self._quiet[1] >= follow.QUIET_S:
            self._quiet = (read, self._quiet[1], True)
            self.session.warn(f"soak-watch: {self.name} has not grown for {format_duration(now - self._quiet[1])}: "
                              "is its writer (wrangler tail ... > FILE) still running? Waiting until "
                              f"{iso_ms(int(until * 1000))}, the end of the soak's window", always=True)

    def run(self) -> int:
        session = self.session
        following = self.name != "-" and self.options.follow and self._is_followable()
        try:
            self._read(self._follow_file if following else self._pump_stream)
        except KeyboardInterrupt:
            self.save()
            session.write_reports(session.result(), final=False)
            hint = (f"figures saved in {self.options.state}: restart the pipe with the same --state to go on"
                    if self.checkpoint else "the report holds the figures so far"
                    + ("; the same command again reads the file again from its start" if following else ""))
            session.warn(f"soak-watch: interrupted; {hint}", always=True)
            raise
        session.pulls += 1
        if session.stop is None:
            session.stop = session.check_atlas()
        self.save()
        return session.finish()

    def _is_followable(self) -> bool:
        """A regular file (or one not there yet: _open_tail says what to do or waits for it). A named
        pipe or a device is read as a stream to its EOF, as stdin is; so is a compressed file: it is
        written whole (Logpush), and the end of one gzip member would wait for another."""
        try:
            if not stat.S_ISREG(os.stat(self.name).st_mode):
                return False
            with open(self.name, "rb") as f:
                return f.read(2) != GZIP_MAGIC
        except FileNotFoundError:
            return True
        except OSError:
            return False  # open_input says why it cannot be read


def run_stream(options: Options, rt: Runtime) -> int:
    return StreamWatch(options, rt).run()
