"""The telemetry query client: one POST per page, paced and retried by the shared HTTP client."""
from __future__ import annotations

from typing import Any, Dict, List

from cutover.core.http import HttpClient, excerpt
from cutover.errors import ConfigError, CutoverError
from cutover.logfetch.query import Filter, Page, build_body, describe_errors, parse_page

TOKEN_HINT = (
    "the token needs the account permission 'Workers Observability Read' "
    "(and CLOUDFLARE_ACCOUNT_ID must be the account that owns the Worker)"
)


class TelemetryClient:
    """Runs events queries for one account with fixed filters and page limit."""

    def __init__(self, http: HttpClient, account_id: str, filters: List[Filter], limit: int) -> None:
        self.http = http
        self.account_id = account_id
        self.filters = filters
        self.limit = limit
        self.pages = 0
        self.max_abr_level = 1.0

    @property
    def path(self) -> str:
        return f"accounts/{self.account_id}/workers/observability/telemetry/query"

    def body(self, from_ms: int, to_ms: int, offset: str | None = None) -> Dict[str, Any]:
        return build_body(from_ms, to_ms, self.limit, self.filters, offset)

    def query(self, from_ms: int, to_ms: int, offset: str | None = None) -> Page:
        """One page of rows in [from_ms, to_ms] (after `offset` when given)."""
        response = self.http.request("POST", self.path, json=self.body(from_ms, to_ms, offset), check=False)
        where = f"telemetry query {from_ms}..{to_ms}"
        if response.status in (401, 403):
            raise ConfigError(f"{where}: HTTP {response.status} from Cloudflare: {self._detail(response)}; {TOKEN_HINT}")
        if not response.ok:
            raise CutoverError(f"{where}: HTTP {response.status} from Cloudflare: {self._detail(response)}")
        page = parse_page(response.json(), where)
        self.pages += 1
        self.max_abr_level = max(self.max_abr_level, page.abr_level)
        return page

    @staticmethod
    def _detail(response: Any) -> str:
        try:
            body = response.json()
        except CutoverError:
            return excerpt(response.body)
        return describe_errors(body) if isinstance(body, dict) else excerpt(response.body)
