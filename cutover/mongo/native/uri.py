"""Parse `mongodb://` and `mongodb+srv://` connection strings; the password goes to `core.redact` at once."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, List, Tuple
from urllib.parse import unquote

from cutover.core.redact import register_secret
from cutover.errors import ConfigError
from cutover.mongo.native.dns import Resolver

Address = Tuple[str, int]
DEFAULT_PORT = 27017

# Canonical spellings; URI option names are case-insensitive.
_KNOWN = {
    name.lower(): name
    for name in ["appName", "authMechanism", "authMechanismProperties", "authSource", "compressors", "connectTimeoutMS", "directConnection", "heartbeatFrequencyMS", "journal", "loadBalanced", "localThresholdMS", "maxIdleTimeMS", "maxPoolSize", "maxStalenessSeconds", "minPoolSize", "readConcernLevel", "readPreference", "readPreferenceTags", "replicaSet", "retryReads", "retryWrites", "serverSelectionTimeoutMS", "socketTimeoutMS", "srvMaxHosts", "srvServiceName", "ssl", "tls", "tlsAllowInvalidCertificates", "tlsAllowInvalidHostnames", "tlsCAFile", "tlsCertificateKeyFile", "tlsInsecure", "w", "waitQueueTimeoutMS", "wTimeoutMS", "zlibCompressionLevel", "timeoutMS"]
}
# Options that change what this read-only driver must do but that it does not implement.
_UNSUPPORTED = {"tlsCertificateKeyFile": "X.509 client certificates", "compressors": None}
READ_PREFERENCES = ("primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest")
_TXT_ALLOWED = {"authsource", "replicaset", "loadbalanced"}


@dataclass(frozen=True)
class MongoURI:
    srv: bool
    hosts: List[Address]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str = ""
    options: Dict[str, str] = field(default_factory=dict)
    ignored: List[str] = field(default_factory=list)

    def option(self, name: str, default: str | None = None) -> str | None:
        return self.options.get(name, default)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.options.get(name)
        if value is None:
            return default
        if value.lower() in ("true", "1", "yes"):
            return True
        if value.lower() in ("false", "0", "no"):
            return False
        raise ConfigError(f"MongoDB URI option {name}={value!r}: expected true or false")

    def millis(self, name: str, default_ms: int) -> float:
        """A *MS option in seconds (0 means: no limit, which we turn into a long but finite wait)."""
        value = self.options.get(name)
        if value is None:
            return default_ms / 1000.0
        try:
            ms = int(value)
        except ValueError:
            raise ConfigError(f"MongoDB URI option {name}={value!r}: expected milliseconds") from None
        if ms < 0:
            raise ConfigError(f"MongoDB URI option {name} must not be negative")
        return (ms or 3_600_000) / 1000.0

    @property
    def tls(self) -> bool:
        explicit = self.options.get("tls", self.options.get("ssl"))
        if explicit is None:
            return self.srv  # mongodb+srv:// implies TLS
        return self.flag("tls" if "tls" in self.options else "ssl")

    @property
    def tls_insecure(self) -> bool:
        return self.flag("tlsInsecure") or self.flag("tlsAllowInvalidCertificates")

    @property
    def auth_source(self) -> str:
        return self.options.get("authSource") or self.database or "admin"

    @property
    def read_preference(self) -> str:
        return self.options.get("readPreference", "primary")

    @property
    def display(self) -> str:
        """Secret-free description for messages."""
        scheme = "mongodb+srv" if self.srv else "mongodb"
        hosts = ",".join(_format_address(h, self.srv) for h in self.hosts)
        user = f"{self.username}:***@" if self.username is not None else ""
        return f"{scheme}://{user}{hosts}/{self.database}"


def _format_address(address: Address, srv: bool = False) -> str:
    host, port = address
    host = f"[{host}]" if ":" in host else host
    return host if srv else f"{host}:{port}"


def parse(uri: str) -> MongoURI:
    """Parse and validate; errors never quote the URI (it may hold a password)."""
    if "@" in uri:
        register_secret(uri)  # also registers the password part, encoded as written
    if uri.startswith("mongodb+srv://"):
        srv, rest = True, uri[len("mongodb+srv://") :]
    elif uri.startswith("mongodb://"):
        srv, rest = False, uri[len("mongodb://") :]
    else:
        raise ConfigError("MongoDB URI must start with mongodb:// or mongodb+srv://")
    cut = min([i for i in (rest.find("/"), rest.find("?")) if i >= 0] or [len(rest)])
    authority, tail = rest[:cut], rest[cut:]
    username = password = None
    if "@" in authority:
        userinfo, authority = authority.rsplit("@", 1)
        if "@" in userinfo or "/" in userinfo or userinfo.count(":") > 1:
            raise ConfigError("MongoDB URI: '@', '/' and ':' in the user name or password must be percent-encoded")
        raw_user, sep, raw_password = userinfo.partition(":")
        username = unquote(raw_user)
        if sep:
            password = unquote(raw_password)
            register_secret(raw_password)
            register_secret(password)
        if not username:
            raise ConfigError("MongoDB URI has credentials with an empty user name")
    hosts = [_parse_host(h) for h in authority.split(",")] if authority else []
    if not hosts:
        raise ConfigError("MongoDB URI has no host")
    database, _, query = tail.lstrip("/").partition("?") if tail.startswith("/") else ("", "", tail[1:])
    options, ignored = _parse_options(query)
    if srv:
        if len(hosts) != 1 or ":" in authority:
            raise ConfigError("mongodb+srv:// takes exactly one host name and no port")
        if options.get("directConnection", "").lower() == "true":
            raise ConfigError("mongodb+srv:// cannot be used with directConnection=true")
    parsed = MongoURI(srv, hosts, username, password, unquote(database), options, ignored)
    read_pref = parsed.read_preference
    if read_pref not in READ_PREFERENCES:
        raise ConfigError(f"MongoDB URI readPreference={read_pref!r}: expected one of {', '.join(READ_PREFERENCES)}")
    mechanism = options.get("authMechanism", "DEFAULT")
    if mechanism not in ("DEFAULT", "SCRAM-SHA-256", "SCRAM-SHA-1"):
        raise ConfigError(f"MongoDB URI authMechanism={mechanism}: only SCRAM-SHA-256 and SCRAM-SHA-1 are supported")
    if username is not None and password is None:
        raise ConfigError("MongoDB URI has a user name but no password (SCRAM needs both)")
    return parsed


def _parse_host(text: str) -> Address:
    text = unquote(text.strip())
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ConfigError("MongoDB URI has an empty host")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"MongoDB URI host {host}: invalid port {port_text!r}")
        return host.lower(), int(port_text)
    return host.lower(), DEFAULT_PORT


def _parse_options(query: str) -> Tuple[Dict[str, str], List[str]]:
    options: Dict[str, str] = {}
    ignored: List[str] = []
    for pair in filter(None, query.split("&")):
        name, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"MongoDB URI option {unquote(name)!r} has no value")
        canonical = _KNOWN.get(unquote(name).lower())
        if canonical is None:
            ignored.append(unquote(name))
            continue
        if canonical in _UNSUPPORTED and _UNSUPPORTED[canonical]:
            raise ConfigError(f"MongoDB URI option {canonical}: {_UNSUPPORTED[canonical]} are not supported")
        options[canonical] = unquote(value)
    return options, ignored


def expand_srv(parsed: MongoURI, resolver: Resolver) -> MongoURI:
    """Seed hosts from SRV `_mongodb._tcp.<host>`, options from TXT (authSource, replicaSet, loadBalanced)."""
    if not parsed.srv:
        return parsed
    host = parsed.hosts[0][0]
    service = parsed.options.get("srvServiceName", "mongodb")
    records = resolver.srv(f"_{service}._tcp.{host}")
    if not records:
        raise ConfigError(f"mongodb+srv://{host}: DNS has no SRV record _{service}._tcp.{host}")
    labels = host.split(".")
    # Hosts must share the SRV name's parent domain (or, for a 1-2 label name, the name itself).
    parent = ".".join(labels[1:]) if len(labels) >= 3 else host
    hosts: List[Address] = []
    for record in sorted(records, key=lambda r: (r.priority, -r.weight)):
        target = record.target.rstrip(".").lower()
        if not target.endswith("." + parent) or target == parent:
            raise ConfigError(f"mongodb+srv://{host}: SRV target {target} is outside the domain {parent}; refusing")
        hosts.append((target, record.port))
    options = dict(parsed.options)
    txt = resolver.txt(host)
    if len(txt) > 1:
        raise ConfigError(f"mongodb+srv://{host}: DNS has {len(txt)} TXT records (at most one is allowed)")
    for pair in filter(None, (txt[0] if txt else "").split("&")):
        name, _, value = pair.partition("=")
        if name.lower() not in _TXT_ALLOWED:
            raise ConfigError(f"mongodb+srv://{host}: TXT record sets {name}, which is not allowed there")
        canonical = _KNOWN[name.lower()]
        options.setdefault(canonical, unquote(value))  # the URI's own options win
    max_hosts = int(options.get("srvMaxHosts", "0") or 0)
    if max_hosts:
        hosts = hosts[:max_hosts]
    return replace(parsed, hosts=hosts, options=options)
