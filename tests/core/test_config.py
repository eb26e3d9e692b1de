from __future__ import annotations

import json

import pytest

from cutover.core.config import Config, cloudflare_account_id, read_secret
from cutover.errors import ConfigError


def write(tmp_path, obj) -> str:
    path = tmp_path / "rollback.json"
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(path)


def test_get_require_and_flags_win(tmp_path):
    cfg = Config.load(write(tmp_path, {"mongo": {"source": "export:/x", "database": "bot"}}))
    assert cfg.require("mongo.database") == "bot"
    cfg.set("mongo.source", "export:/flag")
    cfg.set("mongo.database", None)  # a flag not given changes nothing
    assert cfg.get("mongo.source") == "export:/flag" and cfg.get("mongo.database") == "bot"
    assert cfg.get("d1.table", "trading_trades") == "trading_trades"


def test_errors_name_file_and_key(tmp_path):
    path = write(tmp_path, {"mongo": {"database": 7}})
    cfg = Config.load(path)
    with pytest.raises(ConfigError) as info:
        cfg.require("mongo.database")
    assert path in str(info.value) and "'mongo.database'" in str(info.value) and "str" in str(info.value)
    with pytest.raises(ConfigError, match="'mongo.source' is required"):
        cfg.require("mongo.source")


@pytest.mark.parametrize(("text", "needle"), [("{", "invalid JSON at line 1"), ("[1]", "must be a JSON object")])
def test_bad_files(tmp_path, text, needle):
    with pytest.raises(ConfigError, match=needle):
        Config.load(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        Config.load(str(tmp_path / "nope.json"))


def test_environment_beats_file_for_account(tmp_path):
    cfg = Config({"cloudflare": {"account_id": "from-file"}})
    assert cloudflare_account_id(cfg, {}) == "from-file"
    assert cloudflare_account_id(cfg, {"CLOUDFLARE_ACCOUNT_ID": "from-env"}) == "from-env"


def test_read_secret_from_env_or_file(tmp_path):
    (tmp_path / "tok").write_text("file-secret-123\n")
    assert read_secret("X_TOKEN", {"X_TOKEN": "env-secret-1"}) == "env-secret-1"
    assert read_secret("X_TOKEN", {"X_TOKEN_FILE": str(tmp_path / "tok")}) == "file-secret-123"
    assert read_secret("X_TOKEN", {}) is None
    with pytest.raises(ConfigError, match="X_TOKEN is not set"):
        read_secret("X_TOKEN", {}, required=True)


def test_export_source_and_paths_resolve_beside_the_config_file(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "dump").mkdir()
    path = write(tmp_path / "conf", {"mongo": {"source": "export:dump"}})
    monkeypatch.chdir(tmp_path)
    cfg = Config.load(path)
    assert cfg.source_spec() == "export:" + str(tmp_path / "conf" / "dump")
    assert cfg.resolve_path("/abs/schema.sql") == "/abs/schema.sql"
    cfg.set("mongo.source", "dataapi:https://gw.example/endpoint/data/v1")
    assert cfg.source_spec() == "dataapi:https://gw.example/endpoint/data/v1"
