"""README and docs/: the flag tables match the parsers, every link resolves inside the
repository, the README keeps its two quick-start commands, and nothing points outside the repo."""
from __future__ import annotations

import argparse
import re
import unicodedata
from pathlib import Path

import pytest

from tests.support.tools import REPO
from tools import docgen

DOCS = REPO / "docs"
README = REPO / "README.md"
QUICK_START = ("python3 build.py && ./dist/cutover.pyz drill", "bash .ci/run")


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


# -- generated flag tables ---------------------------------------------------------------------

def test_every_flag_table_matches_its_parser() -> None:
    stale = docgen.stale_pages()
    names = ", ".join(str(p.relative_to(REPO)) for p in stale)
    assert not stale, f"stale flag tables in {names}: refresh them with `{docgen.REFRESH}`"


def test_every_command_has_a_page_with_one_generated_table() -> None:
    from cutover import cli

    for command in cli.COMMANDS:
        text = docgen.page_path(command.name).read_text(encoding="utf-8")
        assert text.count(docgen.BEGIN) == 1 and text.count(docgen.END) == 1, command.name
        assert text.startswith(f"# {command.name} "), f"{command.name}: the page's title names the command"


def _options(parser: argparse.ArgumentParser, hidden: bool) -> list[str]:
    return [o for a in parser._actions for o in a.option_strings
            if (a.help == argparse.SUPPRESS) == hidden and not isinstance(a, argparse._HelpAction)]


def _table(command: str) -> str:
    text = docgen.page_path(command).read_text(encoding="utf-8")
    return text[text.index(docgen.BEGIN):text.index(docgen.END)]


def test_tables_name_every_visible_option_and_no_hidden_one() -> None:
    parsers = docgen.command_parsers()
    hidden_seen = 0
    for name, parser in parsers.items():
        cells = {m.group(1).split(" ")[0] for m in re.finditer(r"`(-[^`]+)`", _table(name))}
        assert set(_options(parser, hidden=False)) <= cells, name
        hidden = set(_options(parser, hidden=True))
        hidden_seen += len(hidden)
        assert not hidden & cells, f"{name}: hidden options in the table: {hidden & cells}"
    assert hidden_seen, "no hidden option left to check the filter with"


def test_a_changed_help_text_makes_the_page_stale() -> None:
    parser = argparse.ArgumentParser(prog="x")
    parser.add_argument("--rate", metavar="N", type=float, default=4.0, help="per second (default %(default)s)")
    parser.add_argument("--secret-knob", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("a", "b"), help="a | b")
    table = docgen.flag_table(parser)
    assert "| `--rate N` | per second (default 4.0) |" in table
    assert "| `--mode a\\|b` | a \\| b |" in table
    assert "secret-knob" not in table and "--help" not in table
    page = f"# x\n\nprose\n{docgen.BEGIN}\n| old |\n{docgen.END}\nmore prose\n"
    fresh = docgen.render(page, table, "x.md")
    assert fresh.startswith("# x\n\nprose\n" + docgen.BEGIN + "\n" + table) and fresh.endswith(docgen.END + "\nmore prose\n")
    assert docgen.render(fresh, table, "x.md") == fresh
    assert docgen.render(fresh, table.replace("per second", "per minute"), "x.md") != fresh


def test_check_mode_names_the_refresh_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "docs" / "commands").mkdir(parents=True)
    for name in docgen.command_parsers():
        text = docgen.page_path(name).read_text(encoding="utf-8")
        (tmp_path / "docs" / "commands" / f"{name}.md").write_text(text, encoding="utf-8")
    stale = tmp_path / "docs" / "commands" / "drill.md"
    stale.write_text(stale.read_text(encoding="utf-8").replace("`--keep`", "`--kept`"), encoding="utf-8")
    monkeypatch.setattr(docgen, "ROOT", tmp_path)
    assert docgen.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "docs/commands/drill.md" in err and docgen.REFRESH in err
    assert "--kept" in stale.read_text(encoding="utf-8")  # --check changes nothing
    assert docgen.main([]) == 0 and "`--keep`" in stale.read_text(encoding="utf-8")
    assert docgen.main(["--check"]) == 0


# -- README ------------------------------------------------------------------------------------

def test_readme_keeps_the_two_quick_start_commands_and_stays_short() -> None:
    text = README.read_text(encoding="utf-8")
    for command in QUICK_START:
        assert command in text
    assert len(text.splitlines()) <= 200, "README.md is the front page: move the detail into docs/"


def test_readme_lists_every_command() -> None:
    from cutover import cli

    text = README.read_text(encoding="utf-8")
    for command in cli.COMMANDS:
        assert f"| `{command.name}` |" in text and f"(docs/commands/{command.name}.md)" in text


# -- links -------------------------------------------------------------------------------------

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = "".join(ch for ch in text if ch in "-_ " or unicodedata.category(ch)[0] in "LN")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        found.update(re.findall(r'<a (?:id|name)="([^"]+)"', line))
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            slug = github_slug(heading.group(1))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [a or b for a, b in LINK.findall(text)]


def test_slugs_follow_github() -> None:
    assert github_slug("What it counts (the cmd_timing rules)") == "what-it-counts-the-cmd_timing-rules"
    assert github_slug("`export:` — mongoexport files (works offline)") == "export--mongoexport-files-works-offline"
    assert github_slug("Errors (exit 1, one line)") == "errors-exit-1-one-line"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_resolves_inside_the_repository(path: Path) -> None:
    found = links(path)
    for target in found:
        if re.match(r"[a-z]+:", target):
            assert target.startswith("https://"), f"{path.name}: {target}"
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        assert resolved == REPO or REPO in resolved.parents, f"{path.name}: {target} points outside the repository"
        assert resolved.exists(), f"{path.name}: {target} does not exist"
        if anchor:
            assert resolved.is_file() and anchor in anchors(resolved), f"{path.name}: no heading #{anchor} in {file_part or path.name}"
    if path != README:
        assert path.relative_to(REPO) == Path("docs") / path.relative_to(DOCS)


def test_the_link_checker_catches_broken_links(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## A part\n\n[ok](#a-part) [bad](#no-part) `[not](a-link.md)`\n", encoding="utf-8")
    assert links(page) == ["#a-part", "#no-part"]
    assert anchors(page) == {"title", "a-part"}


def test_every_docs_page_is_reachable_from_the_readme() -> None:
    reached = {README}
    todo = [README]
    while todo:
        page = todo.pop()
        for target in links(page):
            file_part = target.partition("#")[0]
            if not file_part or re.match(r"[a-z]+:", file_part):
                continue
            resolved = (page.parent / file_part).resolve()
            found = sorted(resolved.glob("*.md")) if resolved.is_dir() else [resolved]
            for hit in found:
                if hit not in reached:
                    reached.add(hit)
                    todo.append(hit)
    assert set(markdown_files()) <= reached


# -- nothing outside the repository ------------------------------------------------------------

OUTSIDE = re.compile(r"\.\./shared|/work/shared|CONTRACT\.md|STYLE\.md|\bcontract\b", re.I)


def shipped_text_files() -> list[Path]:
    files = [README, *DOCS.rglob("*.md")]
    files += [p for p in (REPO / "cutover").rglob("*") if p.is_file() and p.suffix in (".py", ".js", ".md", ".sql", ".toml")]
    return sorted(files)


def test_nothing_points_at_files_outside_the_repository() -> None:
    hits = []
    for path in shipped_text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not hits, "point at docs/ (the contract and ../shared are not part of the repository):\n" + "\n".join(hits)


def test_the_outside_pattern_catches_what_it_should() -> None:
    for bad in ("backfill config (JSON; see the contract)", "see ../shared/CONTRACT.md", "The contract's shape"):
        assert OUTSIDE.search(bad)
    assert not OUTSIDE.search("see docs/config.md or `cutover docs config`")
