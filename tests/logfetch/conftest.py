from __future__ import annotations

from typing import Iterator

import pytest

from tests.support import cf_telemetry
from tests.support.cfapi import FakeCloudflare, serving


@pytest.fixture
def cf() -> Iterator[FakeCloudflare]:
    with serving() as fake:
        yield fake


@pytest.fixture
def store(cf: FakeCloudflare) -> cf_telemetry.TelemetryStore:
    return cf_telemetry.install(cf)
