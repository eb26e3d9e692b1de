"""verify's run, the parts that decide: scope from the flags and the config, the verdict line."""
from __future__ import annotations

import pytest

from cutover.core.config import Config
from cutover.errors import ConfigError
from cutover.verify.options import VerifyOptions
from cutover.verify.run import _scope, _verdict

CFG = Config({"kv_modules": {"sessions": {}, "prefs": {}}, "d1": {"table": "t"}}, "c.json")


@pytest.mark.parametrize(("modules", "d1", "expected"), [
    ((), False, (["sessions", "prefs"], True)),  # neither: everything configured
    (("sessions",), False, (["sessions"], False)),
    ((), True, ([], True)),  # --d1 alone: only D1
    (("prefs",), True, (["prefs"], True)),
])
def test_scope(modules, d1, expected):
    assert _scope(VerifyOptions(config="c.json", modules=modules, d1=d1), CFG) == expected


def test_d1_asked_for_without_a_d1_section_is_a_config_error():
    with pytest.raises(ConfigError, match="--d1 given but there is no d1 section"):
        _scope(VerifyOptions(config="c.json", d1=True), Config({"kv_modules": {}}, "c.json"))
    assert _scope(VerifyOptions(config="c.json"), Config({"kv_modules": {"a": {}}}, "c.json")) == (["a"], False)


def test_verdict_leads_with_the_decision():
    assert _verdict(0, 0).startswith("OK: ")
    assert _verdict(2, 0) == "DIFFERENCES FOUND (exit 4)"
    assert _verdict(1, 1).startswith("DIFFERENCES FOUND (exit 4); 1 target(s) could not be read")
    assert _verdict(0, 2).startswith("INCOMPLETE: 2 target(s) could not be read (exit 1)")
