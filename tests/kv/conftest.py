from __future__ import annotations

from typing import Iterator

import pytest

from tests.support import cf_kv
from tests.support.cfapi import FakeCloudflare

NAMESPACE = "ns0123456789abcdef0123456789abcd"


@pytest.fixture()
def cf() -> Iterator[FakeCloudflare]:
    with cf_kv.serving_namespace(NAMESPACE) as fake:
        yield fake
