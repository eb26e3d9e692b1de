"""A tiny authoritative DNS server on 127.0.0.1 (UDP and TCP, same port) for SRV/TXT/A tests.

Zone: {(name, type): [rdata-spec]} with types "SRV" (priority, weight, port, target), "TXT" (str)
and "A" ("1.2.3.4"). `truncate_udp=True` answers every UDP query with the TC bit set.
"""
from __future__ import annotations

import socket
import struct
import threading
from typing import Any

TYPES = {"A": 1, "TXT": 16, "SRV": 33}


def _name(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\x00"


class DNSTestServer:
    def __init__(self, zone: dict[tuple[str, str], list[Any]], truncate_udp: bool = False) -> None:
        self.zone = {(n.lower().rstrip("."), t): v for (n, t), v in zone.items()}
        self.truncate_udp = truncate_udp
        self.queries: list[tuple[str, str, str]] = []  # (transport, name, type)
        for _ in range(20):  # find a port free for both UDP and TCP
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", 0))
            self.port = self.udp.getsockname()[1]
            try:
                self.tcp = socket.create_server(("127.0.0.1", self.port))
                break
            except OSError:
                self.udp.close()
        else:
            raise RuntimeError("no free port for UDP+TCP")
        self.udp.settimeout(0.2)
        self.tcp.settimeout(0.2)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._serve_udp, daemon=True), threading.Thread(target=self._serve_tcp, daemon=True)]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> DNSTestServer:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self.udp.close()
        self.tcp.close()

    def answer(self, query: bytes, transport: str) -> bytes:
        qid, _flags = struct.unpack_from(">HH", query, 0)
        pos, labels = 12, []
        while query[pos]:
            labels.append(query[pos + 1 : pos + 1 + query[pos]].decode())
            pos += 1 + query[pos]
        qtype = struct.unpack_from(">H", query, pos + 1)[0]
        question = query[12 : pos + 5]
        name = ".".join(labels).lower()
        type_name = {v: k for k, v in TYPES.items()}.get(qtype, str(qtype))
        self.queries.append((transport, name, type_name))
        records = self.zone.get((name, type_name))
        if transport == "udp" and self.truncate_udp:
            return struct.pack(">HHHHHH", qid, 0x8300, 1, 0, 0, 0) + question
        if records is None:
            known = any(n == name for n, _t in self.zone)
            rcode = 0 if known else 3  # NXDOMAIN for unknown names
            return struct.pack(">HHHHHH", qid, 0x8580 | rcode, 1, 0, 0, 0) + question
        answers = b""
        for record in records:
            if type_name == "SRV":
                priority, weight, port, target = record
                rdata = struct.pack(">HHH", priority, weight, port) + _name(target)
            elif type_name == "TXT":
                raw = record.encode()
                # Long TXT values are split into 255-byte strings, as real zones do.
                rdata = b"".join(bytes([len(raw[i : i + 255])]) + raw[i : i + 255] for i in range(0, max(len(raw), 1), 255))
            else:
                rdata = socket.inet_aton(record)
            # 0xC00C: a compression pointer back to the question name.
            answers += struct.pack(">HHHIH", 0xC00C, qtype, 1, 60, len(rdata)) + rdata
        return struct.pack(">HHHHHH", qid, 0x8580, 1, len(records), 0, 0) + question + answers

    def _serve_udp(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.udp.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            self.udp.sendto(self.answer(data, "udp"), peer)

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(5)
                try:
                    size = struct.unpack(">H", conn.recv(2))[0]
                    data = b""
                    while len(data) < size:
                        chunk = conn.recv(size - len(data))
                        if not chunk:
                            break
                        data += chunk
                    reply = self.answer(data, "tcp")
                    conn.sendall(struct.pack(">H", len(reply)) + reply)
                except (OSError, struct.error):
                    continue
