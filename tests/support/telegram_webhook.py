"""A local Telegram webhook receiver (what a grammY/telegraf bot's webhook handler checks):
the X-Telegram-Bot-Api-Secret-Token header, a JSON Update body; records what arrived and when."""
from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.httpserver import FakeServer, Reply, Request
from tests.support.tools import missing


@dataclass
class Arrival:
    update: dict[str, Any]
    cache_token: str | None
    secret: str | None
    at: float  # time.perf_counter() when the handler saw it


class TelegramWebhook(FakeServer):
    """POST `path` with a Telegram Update. Wrong/missing secret -> 401, malformed update -> 400."""

    def __init__(self, secret: str | None = None, path: str = "/webhook", hold: float = 0.0,
                 tls: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.tls = tls  # (certfile, keyfile): serve https
        self.secret = secret
        self.path = path
        self.hold = hold  # seconds each request takes, like a cold isolate connecting to Mongo
        self.arrivals: list[Arrival] = []
        self.rejected: list[Request] = []
        self._arrival_lock = threading.Lock()
        self.route("POST", path, self._receive)

    def _receive(self, req: Request) -> Reply:
        at = time.perf_counter()
        got = req.headers.get("x-telegram-bot-api-secret-token")
        if self.secret is not None and got != self.secret:
            with self._arrival_lock:
                self.rejected.append(req)
            return Reply(401, b"secret token is wrong", {"Content-Type": "text/plain"})
        try:
            update = json.loads(req.body.decode("utf-8"))
        except ValueError:
            return Reply(400, b"body is not JSON")
        if req.headers.get("content-type") != "application/json" or not isinstance(update.get("update_id"), int):
            return Reply(400, b"not a Telegram Update")
        with self._arrival_lock:
            self.arrivals.append(Arrival(update, req.query.get("_cb"), got, at))
        if self.hold:
            time.sleep(self.hold)
        return Reply(200, b"", {})

    def start(self) -> TelegramWebhook:
        super().start()
        if self.tls is not None:
            # Handshakes then run in the accept loop, one after another: fine at test sizes.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            assert self._server is not None
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        # socketserver listens with a backlog of 5: twenty simultaneous connects overflow it and
        # the kernel drops SYNs (1 s retransmits, resets). A real webhook front end has a deep
        # backlog; calling listen() again on Linux just raises the limit.
        assert self._server is not None
        self._server.socket.listen(256)
        return self

    @property
    def url(self) -> str:
        base = self.base_url.replace("http://127.0.0.1", "https://localhost") if self.tls else self.base_url
        return base + self.path


def self_signed_cert(directory: Path, *names: str) -> tuple[str, str]:
    """A throwaway certificate for localhost/127.0.0.1 (+ `names`) made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if not openssl:
        missing("openssl")
    cert, key = directory / "localhost.pem", directory / "localhost.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=" + ",".join(["DNS:localhost", "IP:127.0.0.1", *(f"DNS:{n}" for n in names)])],
        check=True, capture_output=True, timeout=60,
    )
    return str(cert), str(key)
