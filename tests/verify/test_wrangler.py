from __future__ import annotations

import sys

import pytest

from cutover.errors import CutoverError
from cutover.verify import wrangler
from cutover.verify.d1_targets import WranglerD1


def test_failure_is_one_line_with_wranglers_last_line(tmp_path):
    fake = [sys.executable, "-c", "import sys; print('banner'); sys.stderr.write('boom\\nX [ERROR] no such db\\n'); sys.exit(3)"]
    with pytest.raises(CutoverError) as info:
        WranglerD1(fake, "trading", str(tmp_path)).query("SELECT 1")
    assert str(info.value) == "wrangler d1 execute failed (exit 3): X [ERROR] no such db"


def test_missing_binary_is_one_line(tmp_path):
    with pytest.raises(CutoverError, match="wrangler kv key list"):
        wrangler.run([str(tmp_path / "nope")], str(tmp_path), None, "kv key list")


@pytest.mark.parametrize(
    ("text", "value"),
    [('⛅ wrangler\n[{"results": [1]}]\nSuccess!', [{"results": [1]}]), ('{"a": 1} trailing', {"a": 1})],
)
def test_json_is_taken_from_around_the_banners(text, value):
    assert wrangler.decode_json(text, "x") == value


def test_no_json_is_a_clear_error():
    with pytest.raises(CutoverError, match="no JSON in wrangler's output"):
        wrangler.decode_json("Success!", "kv bulk get")
