"""The package's shape, checked: imports go one way, modules and functions stay small.

cli -> commands -> features (verify, drill, guard, burst, soakwatch) -> targets (kv, d1, mongo,
soak, logfetch, atlas, worker) -> core. Nothing imports upward; packages form no cycle; mongo
knows nothing of kv or d1. Lazy imports inside functions count: they are still dependencies.
"""
from __future__ import annotations

import ast
import pathlib
from typing import Dict, List, Set, Tuple

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "cutover"

RANKS: Dict[str, int] = {
    "core": 0, "errors": 0, "data": 0, "__init__": 0,
    "mongo": 1, "kv": 1, "d1": 1, "soak": 1, "logfetch": 1, "atlas": 1, "worker": 1,
    "verify": 2, "drill": 2, "guard": 2, "burst": 2, "soakwatch": 2,
    "commands": 3,
    "cli": 4, "__main__": 5,
}
FORBIDDEN = {("mongo", "kv"), ("mongo", "d1")}
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80
# Hot loops kept whole on purpose (splitting them costs measurable time per record); each says why.
LONG_FUNCTIONS_ALLOWED: Set[str] = set()


def _unit(module: str) -> str:
    """cutover.kv.api -> kv; cutover.cli -> cli."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> Dict[str, pathlib.Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: pathlib.Path) -> List[Tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names if alias.name.startswith("cutover")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.startswith("cutover"):
                out.append((name, node.lineno))
                out += [(f"{name}.{alias.name}", node.lineno) for alias in node.names]
    return out


def _graph() -> Dict[str, Set[str]]:
    modules = _modules()
    graph: Dict[str, Set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for name, _ in _imports(module, path):
            if name in modules and name != module:
                graph[module].add(name)
    return graph


def test_every_package_has_a_rank() -> None:
    units = {_unit(m) for m in _modules()}
    assert units <= set(RANKS), f"give these a place in RANKS: {sorted(units - set(RANKS))}"


def test_imports_never_go_up_the_layers() -> None:
    modules = _modules()
    bad = []
    for module, path in modules.items():
        here = _unit(module)
        for name, line in _imports(module, path):
            if name not in modules:
                continue
            there = _unit(name)
            if RANKS.get(there, 99) > RANKS.get(here, 99) or (here, there) in FORBIDDEN:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} {here} -> {there} ({name})")
    assert not bad, "imports against the layering:\n" + "\n".join(sorted(set(bad)))


def test_packages_form_no_cycle() -> None:
    graph = _graph()
    units: Dict[str, Set[str]] = {}
    for module, deps in graph.items():
        units.setdefault(_unit(module), set()).update(_unit(d) for d in deps if _unit(d) != _unit(module))
    cycles = _cycles(units)
    assert not cycles, f"package cycles: {cycles}"


def test_modules_form_no_cycle() -> None:
    graph = _graph()
    # a package's __init__ importing its own submodules is not a cycle of meaning
    for module in list(graph):
        graph[module] = {d for d in graph[module] if not module.startswith(d + ".")}
    cycles = _cycles(graph)
    assert not cycles, f"module cycles: {cycles}"


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on: Set[str] = set()
    out: List[List[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_files_stay_small() -> None:
    big = [f"{p.relative_to(PACKAGE.parent)}: {n} lines"
           for p in _modules().values() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES]
    assert not big, f"files over {MAX_FILE_LINES} lines (split them by responsibility):\n" + "\n".join(big)


def test_functions_stay_small() -> None:
    long = []
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                name = f"{module}.{node.name}"
                if n > MAX_FUNCTION_LINES and name not in LONG_FUNCTIONS_ALLOWED:
                    long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}: {n} lines")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long)


@pytest.mark.parametrize("name", sorted(p.stem for p in (PACKAGE / "commands").glob("[!_]*.py")))
def test_every_command_module_reads_the_same_way(name: str) -> None:
    """argparse only: add_arguments(parser) and run(args) -> int, which builds the options and
    hands them to the feature; no logic of its own."""
    tree = ast.parse((PACKAGE / "commands" / f"{name}.py").read_text(encoding="utf-8"))
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert {"add_arguments", "run"} <= functions
