"""The checkpoint's side of backfill-kv: the job it belongs to, what changed since it was
written (in the operator's words), and whether a resume would read other data."""
from __future__ import annotations

from typing import Any, Dict, Sequence, Tuple

from cutover.core.checkpoint import Checkpoint
from cutover.core.console import Console
from cutover.kv.options import Settings
from cutover.kv.problems import ProblemLog
from cutover.kv.record import ModuleSpec


def job(s: Settings) -> Dict[str, Any]:
    """What a checkpoint belongs to: a resume with other settings is refused."""
    return {
        "command": "backfill-kv",
        "source": s.source_spec,
        "database": s.database,
        "since": s.since_iso,
        "modules": {
            m.name: {"collection": m.collection, "namespace_id": m.namespace_id, "key_field": m.key_field,
                     "value_field": m.value_field, "expires_field": m.expires_field,
                     "metadata_field": m.metadata_field}
            for m in s.modules
        },
    }


_SETTING_LABELS = {"source": "Mongo source (mongo.source / --source)", "database": "Mongo database",
                   "since": "--since", "command": "the command"}


def describe_setting(path: Tuple[str, ...], before: Any, now: Any) -> str | None:
    """A job setting that differs from the checkpoint's, in the operator's words."""
    from cutover.core.checkpoint import setting_change

    if len(path) == 1 and path[0] in _SETTING_LABELS:
        return setting_change(_SETTING_LABELS[path[0]], before, now)
    if len(path) == 2 and path[0] == "modules":
        if before is None:
            return f"module {path[1]} was not part of that run"
        return f"module {path[1]} was part of that run, not of this one (add --module {path[1]})"
    if len(path) == 3 and path[0] == "modules":
        field = {"namespace_id": "namespace"}.get(path[2], path[2])
        return setting_change(f"{field} for module {path[1]}", before, now)
    return None


def checkpoint_progress(cp: Checkpoint) -> str:
    """'sessions done, prefs: 1,200 documents done' from what the checkpoint on disk holds."""
    parts = []
    for name, entry in cp.state.get("modules", {}).items():
        if entry.get("done"):
            parts.append(f"{name} done")
        else:
            parts.append(f"{name}: {int((entry.get('stats') or {}).get('documents', 0)):,} documents done")
    return ", ".join(parts)


def live_source_warning(started: str) -> str:
    """What a resume on a live source (not fingerprinted) risks, and what makes up for it."""
    return (f"resuming on a live source, which cannot be fingerprinted: since {started}, a document changed before "
            f"the resume position keeps the value read then, one added there is not read, one deleted stays in "
            f"KV; afterwards run again with --since {started}, then verify (it compares every value and counts "
            f"the keys both ways)")


def check_same_source(cp: Checkpoint, sources: Dict[str, Any], modules: Sequence[ModuleSpec], console: Console) -> None:
    """Refuse to resume on other data: documents before the checkpoint would keep old values."""
    from cutover.mongo.resume import check_same_source as check

    check(cp.path, cp.state, {spec.name: sources.get(spec.name) for spec in modules}, console,
          subject=lambda name: f"module {name}",
          risk="documents before the checkpoint would keep their old values", live_warning=live_source_warning)


def keep_listed_before_checkpoint(problems: ProblemLog, cp: Checkpoint, console: Console) -> None:
    """The failed-keys file keeps the invalid documents the checkpoint counts, no others."""
    wanted = {name: int((entry.get("stats") or {}).get("invalid", 0)) for name, entry in cp.state["modules"].items()}
    found = problems.keep_first(wanted)
    for name, n in wanted.items():
        if found.get(name, 0) < n:
            console.warn(f"{problems.path} lists {found.get(name, 0):,} of the {n:,} invalid documents of "
                         f"module {name} the checkpoint counts (was it moved or edited?); the summary counts {n:,}")
