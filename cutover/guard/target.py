"""What one delete-guard run would delete, and the exact wrangler command that deletes it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Target:
    kind: str  # "kv-namespace" | "d1"
    label: str  # e.g. "Workers KV namespace id 0f2a…"
    confirm_text: str  # what the operator must type, exactly
    confirm_what: str  # how the prompt names it ("namespace id", "binding name", "database name")
    wrangler_args: tuple[str, ...]  # after the wrangler binary
    namespace_id: str | None = None
    d1_name: str | None = None

    def audit_resource(self) -> str:
        return f"{self.kind}:{self.confirm_text}"


def kv_namespace_target(namespace_id: str | None, binding: str | None, preview: bool = False) -> Target:
    """`wrangler kv namespace delete --namespace-id ID -y` (or `--binding NAME`)."""
    flag = ["--preview"] if preview else []
    if namespace_id is not None:
        return Target(
            "kv-namespace", f"Workers KV namespace id {namespace_id}" + (" (preview)" if preview else ""),
            namespace_id, "namespace id",
            ("kv", "namespace", "delete", "--namespace-id", namespace_id, *flag, "-y"),
            namespace_id=namespace_id,
        )
    assert binding is not None
    return Target(
        "kv-namespace",
        f"Workers KV namespace bound as {binding} in this directory's wrangler config" + (" (preview)" if preview else ""),
        binding, "binding name",
        ("kv", "namespace", "delete", "--binding", binding, *flag, "-y"),
    )


def d1_target(name: str) -> Target:
    """`wrangler d1 delete NAME -y`."""
    return Target("d1", f"D1 database {name}", name, "database name", ("d1", "delete", name, "-y"), d1_name=name)


def typed_matches(line: str, expected: str) -> bool:
    """True only for exactly `expected` ended by Enter: no case folding, no trimming. A line
    without its newline was ended by EOF (Ctrl-D at a terminal), which never confirms."""
    return line == expected + "\n"


def wrangler_argv(wrangler: Sequence[str], target: Target) -> list[str]:
    return [*wrangler, *target.wrangler_args]
