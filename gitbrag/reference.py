"""The reference pages made from the code: docs/configuration.md from the `Settings` class and
docs/report.schema.json from the `Report` model.

Why generated: a hand-kept table of settings or of report.json's fields drifts from the code the
day someone adds a setting or a field. Here the names, types, defaults and ranges come from the
classes themselves; only the one-line meaning of each setting is written by hand, below, and a
setting without one stops the generator (and the test that runs it). `python -m gitbrag.reference`
rewrites both files; `python -m gitbrag.reference --check` says whether they are up to date.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from gitbrag.models import REPORT_SCHEMA_VERSION, Report
from gitbrag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = Path("docs/configuration.md")
SCHEMA = Path("docs/report.schema.json")

# What each setting does, by field name: the only hand-written part of docs/configuration.md.
MEANINGS: dict[str, str] = {
    "github_token": "GitHub token; several, comma-separated, form a pool. Kept in memory only: never "
    "written to the store, the site or the logs. See [Tokens](tokens.md).",
    "github_api_url": "REST base URL (GitHub Enterprise: `https://HOST/api/v3`).",
    "github_graphql_url": "GraphQL endpoint; derived from the REST URL (`.../api/graphql`) when unset.",
    "github_max_in_flight": "Requests open at once per token, shared by every refresh of the process "
    "(GitHub caps an account at 100 and asks for few).",
    "github_retries_per_refresh": "Failed GitHub requests (timeouts, 5xx, dropped connections, "
    "malformed answers) one user's refresh may make in a pass, plus one per two answered requests, "
    'before it fails with "gave up after N retries this pass"; a healthy refresh is never cut short.',
    "github_request_deadline_seconds": "The longest one request to GitHub may take, whole (sending and "
    "reading every byte); past it the request fails and is not resent.",
    "github_max_response_bytes": "The largest answer, decoded, read from GitHub; past it reading stops "
    "and that user's refresh fails (GitHub's largest real answers are a few MB).",
    "private": "Work in private repositories: `off` (left out), `counts` (numbers only), `full` (shown "
    "like public work). See [Tokens](tokens.md#what-gitbrag_private-shows).",
    "site_dir": "Where the site is published: a folder, or one that can be created; not empty. The demo "
    "publishes into `demo-site/` unless this or `--site-dir` says otherwise.",
    "state_path": "The embedded SQLite store: a file, not inside the site (the demo uses `demo.sqlite3` "
    "beside it).",
    "templates_dir": "An existing folder of templates overriding the built-in ones, file by file.",
    "redis_url": "Use Redis for state, claims and the cache (`redis://`, `rediss://` or `unix://`; one "
    "Redis, not a Cluster). See [Several hosts](deploy/several-hosts.md).",
    "base_url": "The site's public URL (canonical links, sitemap, complete card snippets); http(s) "
    "with a host.",
    "users": "Comma-separated GitHub logins to track; `login@Zone` (`alice@Europe/Berlin`) gives that "
    "user their own time zone.",
    "timezone": "IANA time zone (`America/Los_Angeles`) in which calendar periods, the calendar years "
    "and the timeline's months and weeks begin; timestamps stay UTC.",
    "exclude": "Comma-separated repositories left out of every report, page, card, feed and total: "
    "`owner/repo`, `owner/*`, globs like `*/dotfiles`, or `login:owner/repo` for one user; "
    "case-insensitive.",
    "exclude_languages": "Comma-separated languages left out of the language charts (`JSON,Markdown`, "
    "any case).",
    "periods": "Comma-separated periods every user also gets, beside the rolling ones and the calendar "
    "years with activity: `2026`, `2026-H1`, `2026-Q3`, `2026-03-01..2026-08-31` (both days included).",
    "generated_paths": "Comma-separated globs (matched against the whole path, `*` crossing `/`) of files "
    "whose lines count as generated, beside Linguist's lockfiles, minified files and vendored folders.",
    "teams": "Teams, `;`-separated: `platform=alice,bob;web=dave,org:octo-org`; members are tracked "
    "logins, or `org:NAME` (the organization's public members, at most 200). Each gets "
    "`site/teams/<team>/`.",
    "stale_after_seconds": "A report older than this is regenerated.",
    "task_ttl_seconds": "Lifetime of a claim on a report; a long generation renews it.",
    "per_user_limit": "Generations of one reported user at once.",
    "scan_interval_seconds": "The service's pass interval (with jitter).",
    "max_concurrent": "Users refreshed at once.",
    "budget_points": "GraphQL points one pass may spend (none: no budget). The pass stops claiming new "
    "reports before the budget runs out, stops star walks at a page boundary (their cursors kept), "
    'publishes what is done (stars not yet counted show as "stars still being counted") and prints '
    "`deferred=N`; the next pass goes on from there, oldest due first.",
    "redis_start_wait_seconds": "How long a start waits for a Redis that accepts the connection but does "
    'not answer yet (busy with a save, say) before calling it "not Redis".',
    "hook_host": "Where the service's hook listens: an IP address or host name.",
    "hook_port": "The hook's port (`0` picks a free port).",
    "hook_secret": "Shared secret for `/refresh` (Bearer, or the single-use signature); kept in memory "
    "only. See [The refresh hook](hook.md).",
    "hook_public_url": 'The hook\'s public URL; report pages show "Refresh now" only when set.',
    "allow_new_users": "With the secret, `/refresh` may add users not yet tracked.",
    "force_cooldown_seconds": "Minimum time between two forced refreshes of one user (`0`: none).",
    "log_format": "`text` (`key=value` fields) or `json` (one object per line).",
    "log_level": "The lowest level logged.",
}

HEADER = """# Configuration

<!-- Generated by `python -m gitbrag.reference` from gitbrag/settings.py: do not edit by hand. -->

Every setting is an environment variable; a `.env` file in the working directory works too.
An invalid value stops the program at start, before anything is created, with one line naming
the variable and exit code 2. An empty optional setting (`GITBRAG_REDIS_URL=`) means unset. A
`GITBRAG_*` variable that is not a setting (a misspelled name, say) gets one warning naming
the closest setting, and the run goes on.

| variable | type | default | range | meaning |
| --- | --- | --- | --- | --- |
"""


def variables(name: str, info: FieldInfo) -> list[str]:
    """The environment variables a field is read from."""
    alias = info.validation_alias
    choices = getattr(alias, "choices", None)
    return [str(c) for c in choices] if choices else [f"GITBRAG_{name.upper()}"]


def type_words(annotation: Any) -> str:
    """A field's type as a reader of the environment sees it."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return type_words(next(a for a in args if a is not type(None)))
    if origin is typing.Annotated:
        return type_words(args[0])
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is list:
        return "comma-separated list"
    if origin is dict:
        return "`name=members;...`"
    simple = {str: "text", int: "integer", float: "number", bool: "`true` or `false`", Path: "path"}
    if annotation is SecretStr:
        return "secret"
    return simple.get(annotation, str(annotation))


def default_words(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return "empty"
    value = info.default
    if value is None:
        return "unset"
    if isinstance(value, Path):
        return f"`./{value}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def range_words(info: FieldInfo) -> str:
    low = high = ""
    for item in info.metadata:
        if isinstance(item, Ge):
            low = f"≥ {item.ge:,}"
        elif isinstance(item, Gt):
            low = f"> {item.gt:,}"
        elif isinstance(item, Le):
            high = f"≤ {item.le:,}"
        elif isinstance(item, Lt):
            high = f"< {item.lt:,}"
    return ", ".join(part for part in (low, high) if part) or "—"


def configuration_markdown() -> str:
    """docs/configuration.md: one row per setting, in the class's order."""
    missing = [name for name in Settings.model_fields if name not in MEANINGS]
    if missing:
        raise ValueError(f"gitbrag.reference: no meaning written for {', '.join(missing)} (MEANINGS)")
    rows = []
    for name, info in Settings.model_fields.items():
        names = " or ".join(f"`{v}`" for v in reversed(variables(name, info)))
        cells = (names, type_words(info.annotation), default_words(info), range_words(info), MEANINGS[name])
        rows.append("| " + " | ".join(cells) + " |")
    return HEADER + "\n".join(rows) + "\n"


def report_schema() -> dict[str, Any]:
    """docs/report.schema.json: report.json's JSON Schema, as pydantic serialises a `Report`."""
    schema = Report.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "description": f"gitbrag's report.json, format version {REPORT_SCHEMA_VERSION} (`schema_version`).",
        **schema,
    }


def schema_text() -> str:
    return json.dumps(report_schema(), indent=2, ensure_ascii=False) + "\n"


def generated_files() -> dict[Path, str]:
    return {CONFIGURATION: configuration_markdown(), SCHEMA: schema_text()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitbrag.reference", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated_files().items():
        target = ROOT / path
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(str(path))
        if not args.check:
            target.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)} (run python -m gitbrag.reference)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
