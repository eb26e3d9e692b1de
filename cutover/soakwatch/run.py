"""soak-watch: follow a soak's logs (the Observability API or a stream), keep analyze-soak's
figures incrementally, judge each complete event-hour against the stop-conditions.

`run(options, runtime)`: the options checked (`options.resolved`), then `api.run_api` or
`stream.run_stream`; both feed one `session.Session` (figures, outputs, Atlas, the end).
"""
from __future__ import annotations

from cutover.errors import UsageError
from cutover.soakwatch.options import Options, resolved
from cutover.soakwatch.session import Runtime

__all__ = ["Options", "Runtime", "run"]


def run(options: Options, runtime: Runtime | None = None) -> int:
    rt = runtime or Runtime()
    options = resolved(options)
    if options.from_api:
        from cutover.soakwatch.api import run_api

        return run_api(options, rt)
    if options.input is None:
        raise UsageError("give --input FILE|- or --from-api")
    from cutover.soakwatch.stream import run_stream

    return run_stream(options, rt)
