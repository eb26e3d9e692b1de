"""A small threaded HTTP server on 127.0.0.1 for protocol fakes: route table, request log,
injected faults (status codes, connection resets, slow responses). Bounded and loopback-only."""
from __future__ import annotations

import json
import re
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Pattern
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    query_list: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(obj).encode("utf-8"), {"Content-Type": "application/json", **(headers or {})})


@dataclass
class Fault:
    """Applied to the next `count` requests whose path matches `path` (regex)."""

    kind: str  # "status" | "reset" | "slow"
    path: str = ".*"
    count: int = 1
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes = b'{"success":false,"errors":[{"code":10000,"message":"injected fault"}]}'


Handler = Callable[[Request], Reply]


class FakeServer:
    """Subclass and register routes with `route(method, pattern, handler)`; patterns use {name}."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, Pattern[str], Handler]] = []
        self.faults: list[Fault] = []
        self.log: list[Request] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- routes and faults -------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self.routes.append((method.upper(), regex, handler))

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and re.search(fault.path, path):
                    fault.count -= 1
                    return fault
        return None

    def before(self, request: Request) -> Reply | None:
        """Hook run before routing (auth, rate limits). Return a Reply to short-circuit."""
        return None

    def dispatch(self, request: Request) -> Reply:
        early = self.before(request)
        if early is not None:
            return early
        for method, regex, handler in self.routes:
            m = regex.match(request.path)
            if m and method == request.method:
                request.params = m.groupdict()
                return handler(request)
        return Reply.json({"success": False, "errors": [{"code": 7003, "message": "No route for that URI"}]}, 404)

    # -- lifecycle ---------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                qlist = parse_qsl(parts.query, keep_blank_values=True)
                req = Request(
                    self.command, parts.path, dict(qlist), qlist, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with fake.lock:
                    fake.log.append(req)
                fault = fake._take_fault(parts.path)
                if fault is not None and fault.kind == "reset":
                    # RST instead of FIN: the client sees "connection reset by peer".
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                if fault is not None and fault.kind == "slow":
                    time.sleep(fault.delay)
                    fault = None
                if fault is not None:
                    reply = Reply(fault.status, fault.body, {"Content-Type": "application/json", **fault.headers})
                else:
                    try:
                        reply = fake.dispatch(req)
                    except Exception as exc:  # a bug in the fake shows up as a 599, not a hang
                        reply = Reply(599, f"fake server error: {exc!r}".encode())
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        class _Server(ThreadingHTTPServer):
            # socketserver's default backlog of 5 overflows when tests open 20+ connections at once.
            request_queue_size = 256

            def handle_error(self, request: object, client_address: object) -> None:
                # A client that hung up (a timeout test, a process killed mid-request) is not a
                # server bug; socketserver would print its traceback on the stderr of whichever
                # test runs next and break that test's one-line-error assertion.
                if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    return
                super().handle_error(request, client_address)

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
