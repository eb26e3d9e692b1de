"""`open_source`: one spec string picks the source; secrets never come from (or go into) the spec."""
from __future__ import annotations

from pathlib import Path

import pytest

from cutover.errors import ConfigError
from cutover.mongo import open_source
from cutover.mongo.dataapi import DataApiSource
from cutover.mongo.export import ExportSource


def test_export_and_dataapi_specs(tmp_path: Path) -> None:
    assert isinstance(open_source(f"export:{tmp_path}", database="bot"), ExportSource)
    src = open_source("dataapi:https://data.example.com/app/x/endpoint/data/v1", database="bot",
                      data_source="Cluster0", page_size=500, environ={"MONGODB_DATA_API_KEY": "k" * 20})
    assert isinstance(src, DataApiSource) and src.page_size == 500
    assert src.description == "dataapi:https://data.example.com/app/x/endpoint/data/v1"


@pytest.mark.parametrize("spec", ["", "   ", "export:"])
def test_empty_specs(spec: str) -> None:
    with pytest.raises(ConfigError):
        open_source(spec, database="bot")


def test_unknown_spec_does_not_echo_its_body() -> None:
    with pytest.raises(ConfigError) as info:
        open_source("postgres://user:hunter2secret@db/x", database="bot")
    assert "hunter2secret" not in str(info.value)
    assert "expected export:DIR_OR_FILE" in str(info.value)


@pytest.mark.parametrize("spec", ["mongodb://admin:s3cretpass@db.example.com/bot", "mongodb+srv://u:s3cretpass@c.example.net"])
def test_credentials_in_the_spec_are_refused_without_echo(spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_source(spec, database="bot", environ={})
    assert "s3cretpass" not in str(info.value)
    assert "MONGODB_URI" in str(info.value)


@pytest.mark.parametrize("spec", ["mongodb://", "mongodb+srv://", "mongodb:", "mongodb+srv:"])
def test_bare_scheme_needs_mongodb_uri(spec: str) -> None:
    with pytest.raises(ConfigError, match="MONGODB_URI is not set"):
        open_source(spec, database="bot", environ={})


def test_bare_scheme_takes_the_uri_from_the_environment(tmp_path: Path) -> None:
    native = pytest.importorskip("cutover.mongo.native.source")
    src = open_source("mongodb://", database="bot", environ={"MONGODB_URI": "mongodb://reader:pw-123456@127.0.0.1:9/"})
    assert isinstance(src, native.NativeSource)
    assert src.database == "bot" and "pw-123456" not in src.description
    secret_file = tmp_path / "uri"
    secret_file.write_text("mongodb://127.0.0.1:9/other\n")
    src = open_source("mongodb://", database="", environ={"MONGODB_URI_FILE": str(secret_file)})
    assert src.database == "other"
    with pytest.raises(ConfigError, match="must start with mongodb"):
        open_source("mongodb://", database="bot", environ={"MONGODB_URI": "postgres://x"})
