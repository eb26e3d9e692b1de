"""Atlas Admin API v2 client: authenticated GETs and the CONNECTIONS measurement of one process."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping
from urllib.parse import quote, urlsplit

from cutover.atlas.auth import AtlasAuthError, Auth, atlas_error_text
from cutover.atlas.digest import DigestError
from cutover.core.http import HttpClient, HttpError
from cutover.errors import CutoverError, UsageError

ACCEPT = "application/vnd.atlas.2023-01-01+json"
# A first request carries no Digest answer; a nonce can go stale. Two more attempts cover both.
_AUTH_ATTEMPTS = 3
_GROUP_ID = re.compile(r"^[0-9a-f]{24}$")
_PROCESS_ID = re.compile(r"^[^\s/:]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$")


def validate_group_id(group: str) -> None:
    if not _GROUP_ID.match(group):
        raise UsageError(f"--atlas-group {group!r}: must be the 24-hex-digit project (group) id")


def validate_process_id(process: str) -> None:
    if not _PROCESS_ID.match(process):
        raise UsageError(f"--atlas-process {process!r}: must be HOST:PORT of the mongod, e.g. cluster0-shard-00-00.ab1cd.mongodb.net:27017")


@dataclass(frozen=True)
class ConnectionsReading:
    """One look at the CONNECTIONS series: latest value and peak over the returned window."""

    latest: float | None
    latest_at: str | None
    peak: float | None
    peak_at: str | None
    points: int  # data points with a value (Atlas sends null for moments it has no data)


def connections_reading(doc: Any) -> ConnectionsReading:
    """Pick the CONNECTIONS measurement out of a process-measurements response."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("measurements"), list):
        raise CutoverError("Atlas measurements response has no 'measurements' list")
    series = next((m for m in doc["measurements"] if isinstance(m, Mapping) and m.get("name") == "CONNECTIONS"), None)
    points: list[tuple[str, float]] = []
    for point in (series or {}).get("dataPoints") or []:
        value = point.get("value") if isinstance(point, Mapping) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            points.append((str(point.get("timestamp") or ""), float(value)))
    if not points:
        return ConnectionsReading(None, None, None, None, 0)
    points.sort(key=lambda p: p[0])
    peak_at, peak = max(points, key=lambda p: p[1])
    return ConnectionsReading(points[-1][1], points[-1][0], peak, peak_at, len(points))


class AtlasClient:
    """GETs against the Admin API with the versioned Accept header and Digest/Bearer auth."""

    def __init__(self, http: HttpClient, auth: Auth) -> None:
        self.http = http
        self.auth = auth

    def get(self, path: str, params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> Any:
        url = self.http.url_for(path, params)
        parts = urlsplit(url)
        uri = parts.path + (f"?{parts.query}" if parts.query else "")
        response = None
        for _ in range(_AUTH_ATTEMPTS):
            try:
                sent = self.auth.header("GET", uri)
            except DigestError as exc:
                raise AtlasAuthError(f"Atlas Digest challenge cannot be answered: {exc}") from None
            headers = {"Accept": ACCEPT}
            if sent is not None:
                headers["Authorization"] = sent
            response = self.http.request("GET", url, headers=headers, check=False)
            if response.status != 401 or not self.auth.retry_after_401(response, sent):
                break
        assert response is not None
        if response.status == 401:
            raise AtlasAuthError(
                f"Atlas rejected the {self.auth.name} (HTTP 401: {atlas_error_text(response)}); "
                f"check {self.auth.env_names} and ATLAS_API_BASE_URL"
            )
        if response.status == 403:
            raise AtlasAuthError(
                f"Atlas refused access (HTTP 403: {atlas_error_text(response)}); the key needs Project Read Only "
                "on this project and this machine's IP on the key's access list"
            )
        if not response.ok:
            raise HttpError(f"GET {response.url}: HTTP {response.status}: {atlas_error_text(response)}", response.status, response)
        return response.json()

    def process_measurements(
        self, group: str, process: str, metrics: tuple[str, ...] = ("CONNECTIONS",), granularity: str = "PT10S", period: str = "PT5M"
    ) -> Any:
        path = f"/api/atlas/v2/groups/{quote(group, safe='')}/processes/{quote(process, safe=':')}/measurements"
        params: list[tuple[str, str]] = [("m", m) for m in metrics] + [("granularity", granularity), ("period", period)]
        return self.get(path, params)

    def connections(self, group: str, process: str) -> ConnectionsReading:
        return connections_reading(self.process_measurements(group, process))
