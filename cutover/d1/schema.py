"""Read `CREATE TABLE` statements (as `wrangler d1 export --no-data` prints them) into columns."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Tuple

from cutover.errors import CutoverError

_CONSTRAINT_WORDS = {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE",
                     "REFERENCES", "GENERATED", "AS", "ON"}
_TABLE_CONSTRAINTS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}


class SchemaError(CutoverError):
    """The schema text could not be understood (the message says where)."""


@dataclass
class Column:
    name: str
    declared_type: str = ""
    not_null: bool = False
    default_sql: str | None = None  # the DEFAULT expression as written, usable in VALUES
    primary_key: bool = False
    unique: bool = False
    generated: bool = False


@dataclass
class Table:
    name: str
    columns: List[Column] = field(default_factory=list)
    primary_key: Tuple[str, ...] = ()
    unique_sets: List[Tuple[str, ...]] = field(default_factory=list)

    def column(self, name: str) -> Column | None:
        lower = name.lower()
        for col in self.columns:
            if col.name.lower() == lower:
                return col
        return None

    def is_unique_key(self, name: str) -> bool:
        """True when ON CONFLICT(name) is valid: the column is the PK or alone UNIQUE."""
        lower = name.lower()
        col = self.column(name)
        if col is not None and (col.primary_key or col.unique):
            return True
        keys = [self.primary_key] + self.unique_sets
        return any(len(k) == 1 and k[0].lower() == lower for k in keys)


# -- tokenizer ----------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|$))
  | (?P<str>'(?:[^']|'')*')
  | (?P<qid>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
  | (?P<word>[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)
  | (?P<num>[0-9.][0-9A-Za-z.]*(?:[eE][+-]?[0-9]+)?)
  | (?P<punct>.)
    """,
    re.X | re.S,
)


@dataclass
class _Tok:
    kind: str
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    @property
    def ident(self) -> str:
        if self.kind == "qid":
            body = self.text[1:-1]
            q = self.text[0]
            return body if q == "[" else body.replace(q + q, q)
        if self.kind == "str":
            return self.text[1:-1].replace("''", "'")
        return self.text


def _tokens(sql: str) -> List[_Tok]:
    out = []
    for m in _TOKEN.finditer(sql):
        kind = m.lastgroup or "punct"
        if kind in ("ws", "comment"):
            continue
        out.append(_Tok(kind, m.group(0)))
    return out


def _statements(tokens: List[_Tok]) -> Iterator[List[_Tok]]:
    current: List[_Tok] = []
    for tok in tokens:
        if tok.kind == "punct" and tok.text == ";":
            if current:
                yield current
            current = []
        else:
            current.append(tok)
    if current:
        yield current


def _split_top_level(tokens: List[_Tok]) -> List[List[_Tok]]:
    parts: List[List[_Tok]] = [[]]
    depth = 0
    for tok in tokens:
        if tok.kind == "punct" and tok.text == "(":
            depth += 1
        elif tok.kind == "punct" and tok.text == ")":
            depth -= 1
        if depth == 0 and tok.kind == "punct" and tok.text == ",":
            parts.append([])
        else:
            parts[-1].append(tok)
    return [p for p in parts if p]


def _render(tokens: List[_Tok]) -> str:
    text = ""
    for tok in tokens:
        glue = "" if (not text or tok.text in ("(", ")", ",") or text.endswith("(")) else " "
        text += glue + tok.text
    return text


def _paren_names(tokens: List[_Tok], start: int) -> Tuple[Tuple[str, ...], int]:
    """Names listed in parentheses starting at tokens[start] == '('; returns names and end index."""
    names: List[str] = []
    depth = 0
    i = start
    expect_name = True
    while i < len(tokens):
        tok = tokens[i]
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
            if depth == 0:
                return tuple(names), i
        elif tok.text == ",":
            expect_name = True
        elif depth == 1 and expect_name and tok.kind in ("word", "qid", "str"):
            names.append(tok.ident)
            expect_name = False
        i += 1
    return tuple(names), i


def _parse_column(tokens: List[_Tok]) -> Column:
    col = Column(tokens[0].ident)
    i = 1
    type_parts: List[_Tok] = []
    while i < len(tokens) and tokens[i].upper not in _CONSTRAINT_WORDS:
        type_parts.append(tokens[i])
        i += 1
    col.declared_type = _render(type_parts)
    while i < len(tokens):
        word = tokens[i].upper
        if word == "NOT" and i + 1 < len(tokens) and tokens[i + 1].upper == "NULL":
            col.not_null = True
            i += 2
            continue
        if word == "PRIMARY":
            col.primary_key = True
        elif word == "UNIQUE":
            col.unique = True
        elif word in ("GENERATED", "AS") and not col.generated and i + 1 < len(tokens):
            col.generated = word == "AS" or tokens[i + 1].upper == "ALWAYS"
        elif word == "DEFAULT" and i + 1 < len(tokens):
            i += 1
            if tokens[i].text == "(":
                _, end = _paren_names(tokens, i)
                col.default_sql = _render(tokens[i : end + 1])
                i = end
            elif tokens[i].text in ("+", "-") and i + 1 < len(tokens):
                col.default_sql = tokens[i].text + tokens[i + 1].text
                i += 1
            else:
                col.default_sql = tokens[i].text
        elif tokens[i].text == "(":
            _, i = _paren_names(tokens, i)  # CHECK (...), REFERENCES t(...), COLLATE args
        i += 1
    return col


def _parse_create_table(stmt: List[_Tok]) -> Table | None:
    words = [t.upper for t in stmt[:8]]
    if not words or words[0] != "CREATE":
        return None
    i = 1
    while i < len(stmt) and stmt[i].upper in ("TEMP", "TEMPORARY"):
        i += 1
    if i >= len(stmt) or stmt[i].upper != "TABLE":
        return None
    i += 1
    if i + 2 < len(stmt) and stmt[i].upper == "IF" and stmt[i + 1].upper == "NOT" and stmt[i + 2].upper == "EXISTS":
        i += 3
    if i >= len(stmt):
        return None
    name = stmt[i].ident
    i += 1
    if i + 1 < len(stmt) and stmt[i].text == ".":  # schema.table
        name = stmt[i + 1].ident
        i += 2
    if i >= len(stmt) or stmt[i].text != "(":
        return None  # CREATE TABLE … AS SELECT: no column list to read
    _, end = _paren_names(stmt, i)
    table = Table(name)
    for part in _split_top_level(stmt[i + 1 : end]):
        head = part[0].upper
        if head in _TABLE_CONSTRAINTS and part[0].kind == "word":
            j = 2 if head == "CONSTRAINT" else 0
            kind = part[j].upper if j < len(part) else ""
            paren = next((k for k in range(j, len(part)) if part[k].text == "("), None)
            if paren is not None and kind in ("PRIMARY", "UNIQUE"):
                names, _ = _paren_names(part, paren)
                if kind == "PRIMARY":
                    table.primary_key = names
                else:
                    table.unique_sets.append(names)
            continue
        col = _parse_column(part)
        table.columns.append(col)
        if col.primary_key:
            table.primary_key = (col.name,)
    if not table.columns:
        raise SchemaError(f"CREATE TABLE {name}: no columns found")
    return table


def parse_schema(sql: str) -> Dict[str, Table]:
    """All tables defined in `sql`, by lower-cased name. Other statements are ignored."""
    tables: Dict[str, Table] = {}
    for stmt in _statements(_tokens(sql)):
        table = _parse_create_table(stmt)
        if table is not None:
            tables[table.name.lower()] = table
    return tables


def load_table(path: str, table_name: str) -> Table:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise SchemaError(f"schema file {path}: not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(f"schema file {path}: cannot read ({exc})") from None
    tables = parse_schema(text)
    table = tables.get(table_name.lower())
    if table is None:
        found = ", ".join(sorted(t.name for t in tables.values())) or "none"
        raise SchemaError(
            f"schema file {path}: no CREATE TABLE {table_name} (tables found: {found}); "
            "get it with: wrangler d1 export DB --remote --no-data --output schema.sql"
        )
    return table


def columns_from_definitions(definitions: List[str], source: str) -> Table:
    """A table from a config list of column definitions ("id INTEGER PRIMARY KEY", "note TEXT", "qty")."""
    table = Table("<config>")
    for text in definitions:
        tokens = _tokens(text)
        if not tokens:
            raise SchemaError(f"{source}: empty column definition")
        col = _parse_column(tokens)
        table.columns.append(col)
        if col.primary_key:
            table.primary_key = (col.name,)
    return table


_CAMEL_1 = re.compile(r"(.)([A-Z][a-z]+)")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    """camelCase -> snake_case (userId -> user_id, createdAtMs -> created_at_ms, HTTPCode -> http_code)."""
    return _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", name)).lower()
