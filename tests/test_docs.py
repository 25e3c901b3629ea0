"""The documentation cannot drift from the product.

README.md, CONTRIBUTING.md, CHANGELOG.md and docs/ are read as a user reads them: every relative
link and anchor must resolve, every gitbrag command shown must exist with the flags shown (checked
against the real `--help`), every `GITBRAG_*` name must be a setting, the generated reference
(docs/configuration.md, docs/report.schema.json) must be what the code generates today, and the
systemd unit must pass `systemd-analyze verify` and rate "OK" in `systemd-analyze security`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gitbrag.models import REPORT_SCHEMA_VERSION
from gitbrag.reference import generated_files
from gitbrag.settings import _TOOLING_VARIABLES, setting_names

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").rglob("*.md"))
PAGES = [README, ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *DOCS]
# Pages that may name tests, commits and issues (for contributors, and the history).
FOR_CONTRIBUTORS = {ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", ROOT / "docs" / "architecture.md"}
COMMANDS = ("gitbrag", "gitbrag-refresh", "gitbrag-fake-github")
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest"


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# --- the README ---------------------------------------------------------------------------


def test_the_readme_is_short_and_keeps_the_ci_test_command() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    assert f"```sh\n{TEST_COMMAND}\n```" in text  # .ci/run runs exactly this
    assert TEST_COMMAND.split(" && ")[-1] in (ROOT / ".ci" / "run").read_text()


# --- generated reference ------------------------------------------------------------------


@pytest.mark.parametrize("path", list(generated_files()), ids=str)
def test_the_generated_reference_is_up_to_date(path: Path) -> None:
    """docs/configuration.md and docs/report.schema.json are what `python -m gitbrag.reference`
    writes from the code today."""
    on_disk = (ROOT / path).read_text() if (ROOT / path).exists() else ""
    assert on_disk == generated_files()[path], f"{path} is out of date: run python -m gitbrag.reference"


def test_every_report_json_field_is_documented_in_the_site_page() -> None:
    site = (ROOT / "docs" / "site.md").read_text()
    schema = json.loads((ROOT / "docs" / "report.schema.json").read_text())
    for field in schema["properties"]:
        assert f"`{field}`" in site, field


# --- names, links, commands ---------------------------------------------------------------


def names_in(text: str) -> set[str]:
    return set(re.findall(r"\bGITBRAG_[A-Z0-9_]*[A-Z0-9]", text))


def test_every_gitbrag_name_in_the_docs_is_a_setting() -> None:
    known = set(setting_names()) | _TOOLING_VARIABLES
    files = [*PAGES, ROOT / "deploy" / "gitbrag.service"]
    unknown = {f"{rel(p)}: {name}" for p in files for name in names_in(p.read_text()) if name not in known}
    assert not unknown


def test_the_name_check_catches_a_name_that_is_not_a_setting() -> None:
    known = set(setting_names())
    assert names_in("set `GITBRAG_USER=alice` and GITBRAG_SITE_DIR") - known == {"GITBRAG_USER"}


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\*|_(?=\W)|\[([^]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip())
    text = text.lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    found: list[str] = []
    seen: dict[str, int] = {}
    in_code = False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code:
            continue
        match = re.match(r"#{1,6}\s+(.*)", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.append(base if count == 0 else f"{base}-{count}")
    found += re.findall(r'<a (?:id|name)="([^"]+)"', path.read_text())
    return frozenset(found)


def prose(text: str) -> str:
    """The text without fenced code blocks (links in code are not links)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def links(path: Path) -> Iterator[str]:
    text = prose(path.read_text())
    text = re.sub(r"`[^`\n]*`", "", text)
    yield from re.findall(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
    yield from re.findall(r"^\[[^\]]+\]:\s*(\S+)", text, flags=re.M)
    yield from re.findall(r'(?:href|src)="([^"]+)"', text)


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, broken


def test_the_link_check_catches_a_broken_anchor(tmp_path: Path) -> None:
    page = tmp_path / "a.md"
    page.write_text("# Try it: the demo\n\n## `GITBRAG_USERS` and teams\n\nsee [x](#nope)\n")
    assert anchors(page) == {"try-it-the-demo", "gitbrag_users-and-teams"}
    assert list(links(page)) == ["#nope"]


@cache
def help_text(command: tuple[str, ...]) -> str:
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:], "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


REDIRECT = re.compile(r"^\d*[<>]")
SUBCOMMANDS = ("report", "users", "untrack")  # `gitbrag`'s; each has its own --help


def commands_in(text: str) -> Iterator[list[str]]:
    """Each gitbrag command line shown in code (fenced blocks, indented blocks, code spans), as
    its words: the command, then its arguments up to a redirection or the end."""
    code = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)
    code += re.findall(r"^(?: {4}|\t)(\S.*)$", prose(text), flags=re.M)
    code += re.findall(r"`([^`\n]+)`", prose(text))
    code += re.findall(r"^ExecStart=(.*)$", text, flags=re.M)
    for block in code:
        for line in block.replace("\\\n", " ").splitlines():
            for segment in re.split(r"&&|\|\||;|\||\$\(|\)", line):
                words = [w.strip("[]()'\"") for w in segment.split()]
                while words and (re.match(r"^[A-Za-z_]+=", words[0]) or words[0] in ("sudo", "exec")):
                    words = words[1:]
                if not words or Path(words[0]).name not in COMMANDS:
                    continue
                args = []
                for word in words[1:]:
                    if REDIRECT.match(word) or word.startswith("#"):
                        break
                    args.append(word)
                yield [Path(words[0]).name, *args]


def unknown_flags(words: list[str]) -> list[str]:
    command = (words[0],)
    args = words[1:]
    if words[0] == "gitbrag" and args and not args[0].startswith("-"):
        if args[0] not in SUBCOMMANDS:
            return [f"gitbrag {args[0]}: no such command"]
        command, args = ("gitbrag", args[0]), args[1:]
    usage = help_text(command)
    flags = [a.split("=")[0] for a in args if re.match(r"^--?[A-Za-z]", a)]
    return [
        f"{' '.join(command)} {f}"
        for f in flags
        if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", usage)
    ]


def test_every_command_shown_exists_with_the_flags_shown() -> None:
    problems = []
    seen = 0
    for page in [*PAGES, ROOT / "deploy" / "gitbrag.service"]:
        for words in commands_in(page.read_text()):
            seen += 1
            problems += [f"{rel(page)}: {p}" for p in unknown_flags(words)]
    assert seen > 20  # the check reads the commands, it does not skip them
    assert not problems, problems


def test_the_command_check_catches_a_flag_that_does_not_exist() -> None:
    text = "```sh\ncd x && GITHUB_TOKEN=t .venv/bin/gitbrag-refresh --once --fast >> log 2>&1\n```\n"
    text += "and `gitbrag report octocat --period 2025 --colour`, `gitbrag publish`\n"
    found = [p for words in commands_in(text) for p in unknown_flags(words)]
    assert found == ["gitbrag-refresh --fast", "gitbrag report --colour", "gitbrag publish: no such command"]


# Names of tests (`test_x.py`, `test_something`, `tests/...`), issues and commit hashes.
INTERNAL = re.compile(
    r"\btest_\w+|\btests/|\bissues? #?\d+|\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b"
)


@pytest.mark.parametrize("page", [p for p in PAGES if p not in FOR_CONTRIBUTORS], ids=rel)
def test_user_pages_name_no_test_commit_or_issue(page: Path) -> None:
    found = sorted({m.group(0) for m in INTERNAL.finditer(page.read_text())})
    assert not found, f"{rel(page)} names {found}: they belong in CONTRIBUTING.md or docs/architecture.md"


# --- report.json's schema ----------------------------------------------------------------


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "docs" / "report.schema.json").read_text())
    return loaded


def check_reports(site: Path) -> int:
    """Validate every report.json under `site` against the published schema; how many."""
    validator = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker())
    count = 0
    for path in sorted(site.rglob("report.json")):
        report = json.loads(path.read_text())
        errors = [f"{rel_to(path, site)}: {e.json_path}: {e.message}" for e in validator.iter_errors(report)]
        assert not errors, errors[:5]
        assert report["schema_version"] == REPORT_SCHEMA_VERSION
        count += 1
    return count


def rel_to(path: Path, base: Path) -> str:
    return str(path.relative_to(base))


def test_every_report_of_the_demo_site_matches_the_published_schema(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "gitbrag-refresh"), "--once", "--demo"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert check_reports(tmp_path / "demo-site") >= 20


def test_the_schema_refuses_a_report_that_breaks_it() -> None:
    validator = jsonschema.Draft202012Validator(schema())
    assert not validator.is_valid({"schema_version": 1, "username": "octocat"})  # fields missing
    assert "schema_version" in schema()["properties"]


# --- the systemd unit ----------------------------------------------------------------------

UNIT = ROOT / "deploy" / "gitbrag.service"


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze is missing: apt-get install systemd (Debian's package)")
    return found


def runnable_unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's gitbrag-refresh: `verify` checks the
    program exists, and /opt/gitbrag is where the unit is installed, not where the tests run."""
    unit = tmp_path / "gitbrag.service"
    unit.write_text(UNIT.read_text().replace("/opt/gitbrag/.venv/bin/", f"{BIN}/"))
    return unit


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    text = UNIT.read_text()
    assert "ExecStart=/opt/gitbrag/.venv/bin/gitbrag-refresh\n" in text
    for needed in ("User=gitbrag", "Restart=on-failure", "ProtectSystem=strict", "NoNewPrivileges=true"):
        assert f"\n{needed}\n" in text, needed
    writable = re.findall(r"^ReadWritePaths=(.*)$", text, flags=re.M)
    assert writable == ["/srv/gitbrag/site /var/lib/gitbrag"]  # the site and the state only
    result = subprocess.run(
        [systemd_analyze(), "verify", str(runnable_unit(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # `verify` prints a directive it cannot parse as a warning and still exits 0: neither is allowed.
    assert result.returncode == 0 and not result.stderr.strip() and not result.stdout.strip(), result.stderr


def test_the_systemd_unit_is_rated_ok_by_systemd_analyze_security(tmp_path: Path) -> None:
    result = subprocess.run(
        [systemd_analyze(), "security", "--offline=true", "--no-pager", str(runnable_unit(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    level = re.search(r"Overall exposure level for gitbrag\.service: ([\d.]+) (\w+)", result.stdout)
    assert level is not None, result.stdout[-500:]
    assert float(level.group(1)) <= 4.0 and level.group(2) == "OK", level.group(0)
