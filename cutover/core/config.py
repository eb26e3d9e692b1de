"""Config: a JSON file, then the environment, then flags (flags win); errors name file and key."""
from __future__ import annotations

import json
import os
from typing import Any, Mapping, TypeVar

from cutover.core import redact
from cutover.core.endpoint import require_private_channel
from cutover.errors import ConfigError

T = TypeVar("T")
_MISSING = object()

DEFAULT_CLOUDFLARE_API_BASE_URL = "https://api.cloudflare.com/client/v4"
DEFAULT_ATLAS_API_BASE_URL = "https://cloud.mongodb.com"


class Config:
    """Read access to nested JSON config by dotted path, with overrides layered on top."""

    def __init__(self, data: Mapping[str, Any] | None = None, source: str = "<defaults>") -> None:
        self.data: dict[str, Any] = dict(data or {})
        self.source = source

    @classmethod
    def load(cls, path: str | None) -> Config:
        if not path:
            return cls({}, "<no config file>")
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config file {path}: not found") from None
        except OSError as exc:
            raise ConfigError(f"config file {path}: cannot read ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config file {path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path}: top level must be a JSON object")
        return cls(data, path)

    def _walk(self, dotted: str) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return _MISSING
            node = node[part]
        return node

    def get(self, dotted: str, default: Any = None, kind: type | tuple[type, ...] | None = None) -> Any:
        value = self._walk(dotted)
        if value is _MISSING or value is None:
            return default
        if kind is not None and not isinstance(value, kind) or (kind is not None and isinstance(value, bool) and kind in (int, float)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise ConfigError(f"config file {self.source}: key {dotted!r} must be {names}, got {type(value).__name__}")
        return value

    def require(self, dotted: str, kind: type | tuple[type, ...] = str) -> Any:
        value = self.get(dotted, kind=kind)
        if value is None or value == "":
            raise ConfigError(f"config file {self.source}: key {dotted!r} is required")
        return value

    def set(self, dotted: str, value: Any) -> None:
        """Override a key (flags and environment call this; None means 'not given')."""
        if value is None:
            return
        parts = dotted.split(".")
        node = self.data
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value

    def section(self, dotted: str) -> dict[str, Any]:
        value = self.get(dotted, {}, kind=dict)
        return dict(value)

    def resolve_path(self, path: str) -> str:
        """A path from the config file: relative ones are taken beside the file (then the cwd)."""
        path = os.path.expanduser(path)
        if os.path.isabs(path) or self.source.startswith("<"):
            return path
        beside = os.path.join(os.path.dirname(os.path.abspath(self.source)), path)
        return beside if os.path.exists(beside) or not os.path.exists(path) else path

    def source_spec(self) -> str:
        """mongo.source, with an `export:` path resolved like every other path in the file."""
        spec = str(self.require("mongo.source"))
        if spec.startswith("export:") and spec[7:]:
            return "export:" + self.resolve_path(spec[7:])
        return spec

    def where(self, dotted: str) -> str:
        """How to name a key in an error message."""
        return f"config file {self.source}: key {dotted!r}"


def read_secret(env_name: str, environ: Mapping[str, str] | None = None, required: bool = False) -> str | None:
    """A secret from `$NAME`, or from the file named by `$NAME_FILE`; never from argv."""
    env = os.environ if environ is None else environ
    value = env.get(env_name)
    if not value and env.get(f"{env_name}_FILE"):
        path = env[f"{env_name}_FILE"]
        try:
            with open(path, encoding="utf-8") as handle:
                value = handle.read().strip()
        except OSError as exc:
            raise ConfigError(f"{env_name}_FILE={path}: cannot read ({exc.strerror})") from None
    if value:
        redact.register_secret(value)
        return value
    if required:
        raise ConfigError(f"{env_name} is not set (set it in the environment or point {env_name}_FILE at a file)")
    return None


def cloudflare_api_base(environ: Mapping[str, str] | None = None) -> str:
    """CLOUDFLARE_API_BASE_URL or the default; refused unless https (or http to loopback): the token goes there."""
    env = os.environ if environ is None else environ
    base = (env.get("CLOUDFLARE_API_BASE_URL") or DEFAULT_CLOUDFLARE_API_BASE_URL).rstrip("/")
    require_private_channel(base, "CLOUDFLARE_API_BASE_URL")
    return base


def atlas_api_base(environ: Mapping[str, str] | None = None) -> str:
    """ATLAS_API_BASE_URL or the default; refused unless https (or http to loopback): the keys go there."""
    env = os.environ if environ is None else environ
    base = (env.get("ATLAS_API_BASE_URL") or DEFAULT_ATLAS_API_BASE_URL).rstrip("/")
    require_private_channel(base, "ATLAS_API_BASE_URL")
    return base


def cloudflare_account_id(cfg: Config | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    # Precedence: file < environment < flags (flags are applied to `cfg` by the caller via `set`
    # *after* this, so they still win).
    from_cfg = cfg.get("cloudflare.account_id", kind=str) if cfg else None
    return env.get("CLOUDFLARE_ACCOUNT_ID") or from_cfg or None
