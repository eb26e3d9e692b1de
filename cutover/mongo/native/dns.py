"""A small DNS client for SRV, TXT and A lookups: UDP first, TCP when the answer is truncated."""
from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from typing import List, Sequence, Tuple

TYPE_A = 1
TYPE_TXT = 16
TYPE_SRV = 33
CLASS_IN = 1
_FLAG_TC = 0x0200
_RCODE_NAMES = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
Nameserver = Tuple[str, int]


class DNSError(OSError):
    """No usable answer from any nameserver."""


@dataclass(frozen=True)
class SRVRecord:
    priority: int
    weight: int
    port: int
    target: str


def nameservers_from_resolv_conf(path: str = "/etc/resolv.conf") -> List[Nameserver]:
    """The `nameserver` lines of resolv.conf (port 53); empty when the file is absent."""
    found: List[Nameserver] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split("#", 1)[0].split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    found.append((parts[1].split("%", 1)[0], 53))
    except OSError:
        return []
    return found


def parse_nameserver(text: str) -> Nameserver:
    """'1.2.3.4', '1.2.3.4:5353' or '[::1]:53' as (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 53
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, 53


def build_query(query_id: int, name: str, qtype: int) -> bytes:
    header = struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0)  # recursion desired
    return header + _encode_name(name) + struct.pack(">HH", qtype, CLASS_IN)


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("idna") if label else b""
        if not 0 < len(raw) < 64:
            raise DNSError(f"invalid DNS name {name!r}")
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def read_name(message: bytes, pos: int) -> Tuple[str, int]:
    """A possibly compressed name at `pos`, and the offset after it in the original position."""
    labels: List[str] = []
    end = -1
    for _ in range(128):  # bounds pointer loops in hostile messages
        if pos >= len(message):
            raise DNSError("truncated DNS name")
        length = message[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(message):
                raise DNSError("truncated DNS name pointer")
            if end < 0:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | message[pos + 1]
            continue
        if length == 0:
            return ".".join(labels), (end if end >= 0 else pos + 1)
        labels.append(message[pos + 1 : pos + 1 + length].decode("ascii", errors="replace"))
        pos += 1 + length
    raise DNSError("DNS name compression loop")


def parse_response(message: bytes, query_id: int, qtype: int) -> Tuple[bool, List[bytes | SRVRecord | str]]:
    """(truncated, answers of `qtype`) from one response; raises on error codes."""
    if len(message) < 12:
        raise DNSError("short DNS response")
    rid, flags, qdcount, ancount, _ns, _ar = struct.unpack_from(">HHHHHH", message, 0)
    if rid != query_id or not flags & 0x8000:
        raise DNSError("DNS response does not match the query")
    if flags & _FLAG_TC:
        return True, []
    rcode = flags & 0x000F
    if rcode:
        raise DNSError(f"DNS server answered {_RCODE_NAMES.get(rcode, rcode)}")
    pos = 12
    for _ in range(qdcount):
        _name, pos = read_name(message, pos)
        pos += 4
    answers: List[bytes | SRVRecord | str] = []
    for _ in range(ancount):
        _name, pos = read_name(message, pos)
        if pos + 10 > len(message):
            raise DNSError("truncated DNS record")
        rtype, _rclass, _ttl, rdlength = struct.unpack_from(">HHIH", message, pos)
        rdata_at = pos + 10
        pos = rdata_at + rdlength
        if pos > len(message):
            raise DNSError("truncated DNS record data")
        if rtype != qtype:
            continue  # e.g. a CNAME in front of the answer
        if rtype == TYPE_SRV:
            priority, weight, port = struct.unpack_from(">HHH", message, rdata_at)
            target, _ = read_name(message, rdata_at + 6)
            answers.append(SRVRecord(priority, weight, port, target))
        elif rtype == TYPE_TXT:
            chunks, at = [], rdata_at
            while at < pos:
                size = message[at]
                chunks.append(message[at + 1 : at + 1 + size])
                at += 1 + size
            answers.append(b"".join(chunks).decode("utf-8", errors="replace"))
        elif rtype == TYPE_A and rdlength == 4:
            answers.append(socket.inet_ntoa(message[rdata_at:pos]))
    return False, answers


class Resolver:
    """Asks each nameserver in turn; every attempt is bounded by `timeout` seconds."""

    def __init__(self, nameservers: Sequence[Nameserver] | None = None, timeout: float = 5.0, attempts: int = 2) -> None:
        self.nameservers = list(nameservers) if nameservers else nameservers_from_resolv_conf()
        if not self.nameservers:
            raise DNSError("no nameserver: /etc/resolv.conf lists none (set dns_server)")
        self.timeout = timeout
        self.attempts = attempts

    def query(self, name: str, qtype: int) -> list:
        errors: List[str] = []
        for _ in range(self.attempts):
            for server in self.nameservers:
                query_id = int.from_bytes(os.urandom(2), "big")
                message = build_query(query_id, name, qtype)
                try:
                    truncated, answers = parse_response(self._udp(server, message), query_id, qtype)
                    if truncated:
                        truncated, answers = parse_response(self._tcp(server, message), query_id, qtype)
                    return answers
                except DNSError as exc:
                    if "NXDOMAIN" in str(exc):
                        raise DNSError(f"{name}: no such DNS name") from None
                    errors.append(f"{server[0]}:{server[1]}: {exc}")
                except OSError as exc:
                    errors.append(f"{server[0]}:{server[1]}: {exc or type(exc).__name__}")
        raise DNSError(f"DNS lookup of {name} failed ({'; '.join(errors[-2:])})")

    def srv(self, name: str) -> List[SRVRecord]:
        return [r for r in self.query(name, TYPE_SRV) if isinstance(r, SRVRecord)]

    def txt(self, name: str) -> List[str]:
        """TXT strings of `name`; none when the name itself does not exist (TXT is optional)."""
        try:
            return [r for r in self.query(name, TYPE_TXT) if isinstance(r, str)]
        except DNSError as exc:
            if "no such DNS name" in str(exc):
                return []
            raise

    def address(self, name: str) -> str:
        """The first IPv4 address of `name` (for hosts reached through an injected nameserver)."""
        found = [r for r in self.query(name, TYPE_A) if isinstance(r, str)]
        if not found:
            raise DNSError(f"{name}: no A record")
        return found[0]

    def _udp(self, server: Nameserver, message: bytes) -> bytes:
        family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.timeout)
            sock.connect(server)
            sock.send(message)
            return sock.recv(65535)

    def _tcp(self, server: Nameserver, message: bytes) -> bytes:
        with socket.create_connection(server, timeout=self.timeout) as sock:
            sock.sendall(struct.pack(">H", len(message)) + message)
            (size,) = struct.unpack(">H", _recv_exact(sock, 2))
            return _recv_exact(sock, size)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = sock.recv(size - got)
        if not chunk:
            raise DNSError("DNS server closed the TCP connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
