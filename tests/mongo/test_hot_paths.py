"""The modules that decode every document keep CPython's method-call fast path.

CPython 3.11+ compiles `name.method(...)` without its method-call fast path when `name` is bound
by an import at module level (it expects a module), even where a function's own local of that
name is meant: a bound-method object per call. Splitting a module and importing its tables
(`_MINUTES.get(...)`, `_INT32.unpack_from(...)`) cost the export reader 4% per line that way.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
from typing import List, Set

import pytest

HOT_MODULES = [
    "cutover.mongo.ejson.lines",
    "cutover.mongo.ejson.wrappers",
    "cutover.mongo.ejson.dates",
    "cutover.mongo.ejson.text",
    "cutover.mongo.native.bson.decoder",
    "cutover.mongo.export",
]


def _import_bound(tree: ast.Module) -> Set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _locals(function: ast.AST) -> Set[str]:
    names = {a.arg for a in ast.walk(function) if isinstance(a, ast.arg)}
    names.update(n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


def slow_method_calls(module_name: str) -> List[str]:
    """`name.method(...)` calls compiled without the fast path where `name` is not a module."""
    module = importlib.import_module(module_name)
    path = pathlib.Path(inspect.getfile(module))
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = _import_bound(tree)
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        local = _locals(function)
        for node in ast.walk(function):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            receiver = node.func.value
            if not isinstance(receiver, ast.Name) or receiver.id not in imported:
                continue
            if receiver.id in local or not inspect.ismodule(getattr(module, receiver.id, None)):
                found.append(f"{path.name}:{node.lineno} {receiver.id}.{node.func.attr}(...)")
    return sorted(found)


@pytest.mark.parametrize("module_name", HOT_MODULES)
def test_no_method_call_on_an_imported_name(module_name: str) -> None:
    assert slow_method_calls(module_name) == []


def test_the_check_sees_the_slow_form(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An imported table's method, and a local that shadows an imported module, are both found."""
    (tmp_path / "slowpkg").mkdir()
    (tmp_path / "slowpkg" / "__init__.py").write_text("")
    (tmp_path / "slowpkg" / "tables.py").write_text("TABLE = {}\n")
    (tmp_path / "slowpkg" / "user.py").write_text(
        "from slowpkg import tables as text\n"
        "from slowpkg.tables import TABLE\n"
        "LOCAL = {}\n\n"
        "def f(line):\n"
        "    text = line.decode()\n"
        "    return TABLE.get(text.count('$')), LOCAL.get(1)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert slow_method_calls("slowpkg.user") == ["user.py:7 TABLE.get(...)", "user.py:7 text.count(...)"]
