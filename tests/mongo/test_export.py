"""`export:` source over real files: NDJSON, --jsonArray, --pretty, gzip, damage, resume, filters."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from bson import json_util
from bson.json_util import CANONICAL_JSON_OPTIONS, LEGACY_JSON_OPTIONS, RELAXED_JSON_OPTIONS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cutover.errors import ConfigError, CutoverError
from cutover.mongo import ejson, open_source
from cutover.mongo.base import ScanOptions
from cutover.mongo.export import ExportSource
from cutover.mongo.values import DateTime, Int64, ObjectId
from tests.support.ejson_oracle import comparable, to_pymongo


def oid(i: int) -> ObjectId:
    return ObjectId((0x65000000 + i).to_bytes(4, "big") + i.to_bytes(8, "big"))


def session(i: int) -> dict:
    return {
        "_id": oid(i),
        "key": f"chat:{i}",
        "value": {"step": "menu", "n": i, "tags": ["a", "b"]},
        "expiresAt": DateTime(1_800_000_000_000 + i),
        "updatedAt": DateTime(1_700_000_000_000 + i * 1000),
    }


DOCS = [session(i) for i in range(10)]


def ndjson(docs: list, options=RELAXED_JSON_OPTIONS) -> str:
    return "".join(json_util.dumps(to_pymongo(d), json_options=options) + "\n" for d in docs)


def json_array(docs: list) -> str:
    # what `mongoexport --jsonArray` writes: one document per line, commas between
    return "[" + ",\n".join(json_util.dumps(to_pymongo(d), json_options=RELAXED_JSON_OPTIONS) for d in docs) + "]\n"


def pretty(docs: list, array: bool = False) -> str:
    bodies = [json.dumps(json.loads(json_util.dumps(to_pymongo(d), json_options=RELAXED_JSON_OPTIONS)), indent="\t") for d in docs]
    return ("[" + ",\n".join(bodies) + "]\n") if array else "\n".join(bodies) + "\n"


def read_all(source: ExportSource, collection: str, **options) -> list:
    return [d for batch in source.scan(collection, ScanOptions(**options)) for d in batch]


@pytest.mark.parametrize(
    "text",
    [
        ndjson(DOCS),
        ndjson(DOCS, CANONICAL_JSON_OPTIONS),
        ndjson(DOCS, LEGACY_JSON_OPTIONS),
        json_array(DOCS),
        pretty(DOCS),
        pretty(DOCS, array=True),
        "\ufeff" + ndjson(DOCS),  # BOM (Windows editors)
        ndjson(DOCS).replace("\n", "\r\n"),  # CRLF
        "\n" + ndjson(DOCS[:5]) + "\n\n   \n" + ndjson(DOCS[5:]),  # blank lines
        json_array([]).replace("[]", "[\n" + ",\n".join(json.dumps(json.loads(json_util.dumps(to_pymongo(d)))) for d in DOCS) + "\n]"),
    ],
    ids=["ndjson-relaxed", "ndjson-canonical", "ndjson-legacy", "jsonArray", "pretty", "pretty-array", "bom", "crlf", "blank-lines", "array-multiline"],
)
def test_reads_every_layout_mongoexport_writes(tmp_path: Path, text: str) -> None:
    (tmp_path / "kv_sessions.json").write_text(text, encoding="utf-8")
    source = open_source(f"export:{tmp_path}", database="bot")
    got = read_all(source, "kv_sessions", batch_size=3)
    assert comparable(got, strict_ints=False) == comparable(DOCS, strict_ints=False)
    assert source.count("kv_sessions") == len(DOCS)


def test_gzip_by_content_and_directory_lookup(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "kv_sessions.json.gz", "wt", encoding="utf-8") as out:
        out.write(ndjson(DOCS))
    (tmp_path / "kv_settings.json").write_text(json_array(DOCS[:2]), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not an export")
    source = ExportSource(str(tmp_path))
    assert source.collections() == ["kv_sessions", "kv_settings"]
    assert read_all(source, "kv_sessions") == DOCS
    assert read_all(source, "kv_settings") == DOCS[:2]
    # a gzip file without the .gz suffix is still read (detected by its magic bytes)
    (tmp_path / "kv_sessions.json.gz").rename(tmp_path / "other.json")
    assert read_all(ExportSource(str(tmp_path / "other.json")), "other") == DOCS


def test_batches_have_the_requested_size_and_resume_positions(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(ndjson(DOCS))
    source = ExportSource(str(tmp_path))
    batches = list(source.scan("c", ScanOptions(batch_size=4)))
    assert [len(b) for b in batches] == [4, 4, 2]
    # resume after the last _id of the first batch: exactly the rest, in the same order
    rest = read_all(source, "c", after_id=batches[0][-1]["_id"])
    assert rest == DOCS[4:]
    assert read_all(source, "c", after_id=DOCS[-1]["_id"]) == []


def test_resume_position_missing_from_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(ndjson(DOCS))
    with pytest.raises(CutoverError, match="resume position _id .* is not in the export"):
        read_all(ExportSource(str(tmp_path)), "c", after_id=oid(999))


def test_since_filter_and_projection(tmp_path: Path) -> None:
    docs = DOCS + [{"_id": oid(50), "updatedAt": "2030-01-01"}, {"_id": oid(51)}]  # not dates: never match
    (tmp_path / "c.json").write_text(ndjson(docs))
    source = ExportSource(str(tmp_path))
    since = DateTime(1_700_000_000_000 + 7000)
    got = read_all(source, "c", since=since)
    assert [d["_id"] for d in got] == [oid(7), oid(8), oid(9)]
    assert source.count("c", ScanOptions(since=since)) == 3
    nested = read_all(source, "c", since=DateTime(0), since_field="value.n")  # ints: no match
    assert nested == []
    projected = read_all(source, "c", projection={"key": 1, "value.step": 1}, since=since)
    assert projected[0] == {"_id": oid(7), "key": "chat:7", "value": {"step": "menu"}}
    excluded = read_all(source, "c", projection={"_id": 0, "value": 0, "expiresAt": 0}, since=since)
    assert excluded[0] == {"key": "chat:7", "updatedAt": DOCS[7]["updatedAt"]}


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    lines = ndjson(DOCS).splitlines()
    lines[3] = lines[3][:-10]  # cut short, like a copy that died
    lines[6] = '{"_id": {"$oid": "nothex"}, "x": 1}'
    path = tmp_path / "c.json"
    path.write_text("\n".join(lines) + "\n")
    source = ExportSource(str(tmp_path))
    with pytest.raises(CutoverError) as info:
        read_all(source, "c")
    assert f"{path}:4: malformed document" in str(info.value)
    assert "--skip-bad-lines" in str(info.value)
    # count() reads the whole file, so a caller that counts first learns before writing
    with pytest.raises(CutoverError, match=r"c\.json:4"):
        source.count("c")

    skipping = open_source(f"export:{tmp_path}", database="bot", skip_bad_lines=True)
    got = read_all(skipping, "c")
    assert got == [d for i, d in enumerate(DOCS) if i not in (3, 6)]
    assert skipping.bad_lines == 2
    assert skipping.bad_line_samples[0].startswith(f"{path}:4:")
    assert "bad $oid" in skipping.bad_line_samples[1]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("[1, 2]", "expected a document"),
        ('"text"', "expected a document"),
        ('{"a": 1} {"b": 2}', "Extra data"),
        ('{"a": {"b\\u0000": 1}}', "NUL"),
        ("\xff\xfe", "not UTF-8"),
        ('  {"a": ', "Expecting"),
        ('{"a": ' * 5000 + "1" + "}" * 5000, "nested too deeply"),
    ],
)
def test_each_kind_of_bad_line_is_reported(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(ndjson(DOCS[:2]).encode() + line.encode("latin-1") + b"\n" + ndjson(DOCS[2:3]).encode())
    with pytest.raises(CutoverError, match=f"c.json:3: malformed document.*{reason}"):
        read_all(ExportSource(str(path)), "c")


def test_leading_blanks_on_a_line_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("   " + ndjson(DOCS[:1]) + "\t" + ndjson(DOCS[1:2]))
    assert read_all(ExportSource(str(path)), "c") == DOCS[:2]


def test_damaged_array_export_stops_with_the_line(tmp_path: Path) -> None:
    text = json_array(DOCS)
    path = tmp_path / "c.json"
    path.write_text(text.replace('"chat:4"', '"chat:4" oops'))
    with pytest.raises(CutoverError, match=r"c\.json:5: malformed document.*cannot be skipped"):
        read_all(ExportSource(str(path), skip_bad_lines=True), "c")
    path.write_text(text[: len(text) // 2])  # truncated
    with pytest.raises(CutoverError, match="malformed document"):
        read_all(ExportSource(str(path)), "c")
    path.write_text(text.rstrip().rstrip("]"))  # every document there, array never closed
    with pytest.raises(CutoverError, match="not closed"):
        read_all(ExportSource(str(path)), "c")
    path.write_text(text + '{"_id": 1}\n')
    with pytest.raises(CutoverError, match="after the end of the JSON array"):
        read_all(ExportSource(str(path)), "c")


def test_array_documents_larger_than_the_read_chunk(tmp_path: Path) -> None:
    big = [{"_id": Int64(i), "blob": "x" * 1_500_000, "when": DateTime(i)} for i in range(3)]
    path = tmp_path / "c.json"
    path.write_text(json_array(big))
    assert read_all(ExportSource(str(path)), "c") == big


def test_truncated_gzip_is_reported(tmp_path: Path) -> None:
    data = gzip.compress(ndjson(DOCS * 50).encode())
    (tmp_path / "c.json.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CutoverError, match=r"c\.json\.gz: cannot read \(compressed file ends early"):
        read_all(ExportSource(str(tmp_path)), "c")


def test_missing_ambiguous_and_mismatched_collections(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file or directory"):
        open_source(f"export:{tmp_path / 'nope'}", database="bot")
    source = ExportSource(str(tmp_path))
    with pytest.raises(ConfigError, match="no export for collection 'c'.*c.json and c.json.gz"):
        read_all(source, "c")
    (tmp_path / "c.json").write_text(ndjson(DOCS))
    (tmp_path / "c.json.gz").write_bytes(gzip.compress(ndjson(DOCS).encode()))
    with pytest.raises(ConfigError, match="several exports"):
        read_all(source, "c")
    with pytest.raises(ConfigError, match="holds collection 'c'.*not 'other'"):
        read_all(ExportSource(str(tmp_path / "c.json")), "other")


def test_documents_without_batches_equals_scan(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(ndjson(DOCS))
    source = ExportSource(str(tmp_path))
    assert list(source.documents("c")) == DOCS
    assert list(source.documents("c", ScanOptions(after_id=oid(7)))) == DOCS[8:]


def test_file_is_streamed_not_loaded(tmp_path: Path) -> None:
    """The reader holds one line at a time: a document is yielded before the file is complete."""
    path = tmp_path / "c.json"
    with open(path, "w", encoding="utf-8") as out:
        out.write(ndjson(DOCS[:1]))
        out.flush()
        docs = ExportSource(str(path)).documents("c")
        assert next(docs) == DOCS[0]
        out.write(ndjson(DOCS[1:2]))
        out.flush()
        assert list(docs) == DOCS[1:2]


_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.text(max_size=12),
        st.binary(min_size=12, max_size=12).map(ObjectId), st.integers(-(10**13), 10**13).map(DateTime),
        st.integers(-(2**63), 2**63 - 1).map(Int64),
    ),
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=5).filter(lambda k: not k.startswith("$") and "\x00" not in k), c, max_size=3)),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.text(max_size=6).filter(lambda k: not k.startswith("$") and "\x00" not in k), _values, max_size=6), max_size=6),
       st.sampled_from([RELAXED_JSON_OPTIONS, CANONICAL_JSON_OPTIONS, LEGACY_JSON_OPTIONS]))  # fmt: skip
def test_export_reader_equals_full_decoder(tmp_path: Path, docs: list, options) -> None:
    """The line reader's fast path gives exactly what the general decoder gives, line by line."""
    text = ndjson(docs, options)
    path = tmp_path / "h.json"
    path.write_text(text, encoding="utf-8")
    expected = [ejson.loads_document(line) for line in text.splitlines()]
    got = list(ExportSource(str(path)).documents("h"))
    assert comparable(got) == comparable(expected)


def test_damage_at_the_end_stops_the_scan_before_the_first_batch(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(ndjson(DOCS * 30) + '{"_id": 1, "broken": \n')
    batches = ExportSource(str(tmp_path)).scan("c", ScanOptions(batch_size=2))
    with pytest.raises(CutoverError, match=r"c\.json:301: malformed document"):
        next(batches)  # nothing was handed out (so nothing written) before the error


def test_a_file_changed_after_counting_is_validated_again(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(ndjson(DOCS))
    source = ExportSource(str(tmp_path))
    assert source.count("c") == len(DOCS)
    with open(path, "a", encoding="utf-8") as out:
        out.write("not json\n")
    with pytest.raises(CutoverError, match=r"c\.json:11: malformed"):
        next(source.scan("c"))


def test_a_file_replaced_with_the_same_size_and_mtime_is_validated_again(tmp_path: Path) -> None:
    """The checked stamp is more than size and mtime: a copy put in place (new inode) is checked anew,
    here one whose damage the block reader alone would not see."""
    import os

    path = tmp_path / "c.json"
    text = ndjson(DOCS)
    path.write_text(text)
    source = ExportSource(str(tmp_path))
    assert source.count("c") == len(DOCS)
    # lines that are damaged only one by one (joined by commas they parse: see below), same size
    lines = text.splitlines(keepends=True)
    broken = ['{"a": [{"b": 1}\n', '{"c": 2}]}\n', '{"x": 1}, {"y": 2}\n']
    pad = sum(map(len, lines[:3])) - sum(map(len, broken))
    damaged = "".join([broken[0][:-1] + " " * pad + "\n"] + broken[1:] + lines[3:])
    replacement = tmp_path / "c.json.new"
    replacement.write_text(damaged)
    st = os.stat(path)
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(replacement, path)
    assert os.stat(path).st_size == st.st_size and os.stat(path).st_mtime_ns == st.st_mtime_ns
    with pytest.raises(CutoverError, match=r"c\.json:1: malformed"):
        next(source.scan("c"))


def test_skipped_lines_are_counted_once_per_read(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(ndjson(DOCS[:3]) + "garbage\n" + ndjson(DOCS[3:]) + "{}\n[]\n")
    source = ExportSource(str(tmp_path), skip_bad_lines=True)
    assert source.count("c") == len(DOCS) + 1  # "{}" is a (strange but valid) document
    assert read_all(source, "c") == DOCS + [{}]
    assert source.bad_lines == 2
    assert [s.split(": ")[0].rsplit(":", 1)[1] for s in source.bad_line_samples] == ["4", "13"]


def test_scan_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path) -> None:
    import gc

    (tmp_path / "c.json").write_text(ndjson(DOCS))
    source = ExportSource(str(tmp_path))
    assert gc.isenabled()
    for _batch in source.scan("c", ScanOptions(batch_size=3)):
        assert gc.isenabled()  # the caller's code runs with GC on
    gc.disable()
    try:
        assert read_all(source, "c") == DOCS
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(CutoverError, match="resume position"):  # raised while a batch is built
        read_all(source, "c", after_id=oid(999))
    assert gc.isenabled()


def test_projection_mixing_inclusion_and_exclusion_is_refused(tmp_path: Path) -> None:
    from cutover.errors import UsageError

    (tmp_path / "c.json").write_text(ndjson(DOCS))
    with pytest.raises(UsageError, match="mixes inclusion and exclusion"):
        read_all(ExportSource(str(tmp_path)), "c", projection={"a": 1, "b": 0})


def test_lines_that_only_join_into_documents_are_each_reported(tmp_path: Path) -> None:
    """Two broken halves and a doubled line form valid JSON once joined by commas; each is still a
    damaged line, so the block reader (which joins lines) is only used on a file checked line by line."""
    broken = '{"a": [{"b": 1}\n{"c": 2}]}\n{"x": 1}, {"y": 2}\n'
    (tmp_path / "c.json").write_text(ndjson(DOCS[:2]) + broken + ndjson(DOCS[2:]))
    with pytest.raises(CutoverError, match=r"c\.json:3: malformed"):
        read_all(ExportSource(str(tmp_path)), "c")
    skipping = ExportSource(str(tmp_path), skip_bad_lines=True)
    assert read_all(skipping, "c", batch_size=4) == DOCS
    assert skipping.bad_lines == 3


def test_checked_block_reader_equals_line_reader_on_a_larger_file(tmp_path: Path) -> None:
    """Many blocks, wrappers nested and at the top level, blank and CRLF lines: same documents."""
    docs = [dict(session(i), nested={"at": DateTime(i), "ids": [oid(i)]}, big=Int64(2**40 + i)) for i in range(3000)]
    text = ndjson(docs, CANONICAL_JSON_OPTIONS).replace("\n", "\r\n", 7).replace("\n", "\n\n", 3)
    (tmp_path / "c.json").write_text(text)
    checked = read_all(ExportSource(str(tmp_path)), "c", batch_size=700)
    unchecked = read_all(ExportSource(str(tmp_path), skip_bad_lines=True), "c", batch_size=700)
    assert checked == unchecked == docs
