"""Honest line counts: generated and vendored files count apart from the lines a person wrote.

A lockfile bump of +20,936 −7,886 must not make a pull request "Massive", nor JSON the
user's top language, while `total_additions`/`total_deletions` stay GitHub's own numbers.
"""

from __future__ import annotations

import pytest

from gitbrag.models import ChangedFile
from gitbrag.report.build import ReportOptions, build_report
from gitbrag.report.languages import check_glob, is_generated
from gitbrag.settings import ConfigError, load_settings
from tests.report.test_report import GENERATED, UNTIL, collection, days_ago, pr


@pytest.mark.parametrize(
    "path",
    [
        "package-lock.json", "web/package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock",
        "Cargo.lock", "go.sum", "composer.lock", "Gemfile.lock", "sub/dir/Pipfile.lock", "uv.lock",
        "static/app.min.js", "css/site.min.css", "build/app.js.map", "api/v1/service.pb.go",
        "proto/user_pb2.py", "vendor/github.com/pkg/errors/errors.go", "node_modules/left-pad/index.js",
        "frontend/node_modules/x/y.js", "dist/bundle.js", "third_party/zlib/inflate.c",
        "Pods/AFNetworking/x.m", ".idea/workspace.xml", "Forms/Main.Designer.cs",
    ],
)  # fmt: skip
def test_linguists_generated_and_vendored_paths_are_generated(path: str) -> None:
    assert is_generated(path)


@pytest.mark.parametrize(
    "path",
    [
        "src/app.py", "lockfile.py", "src/lock.rs", "docs/package-lock.md", "vendored.py", "distance/x.py",
        "src/dist.py", "my-vendor/x.go", "min.js", "app.mini.js", "README.md", "Cargo.toml", "go.mod",
        "package.json",
    ],
)  # fmt: skip
def test_files_people_write_are_not_generated(path: str) -> None:
    assert not is_generated(path)


def test_operator_globs_match_the_whole_path() -> None:
    globs = ("*.snap", "schema/generated/*", "openapi.json")
    assert is_generated("tests/__snapshots__/app.test.ts.snap", globs)
    assert is_generated("schema/generated/deep/types.ts", globs)  # `*` crosses folders, as fnmatch does
    assert is_generated("openapi.json", globs)
    assert not is_generated("api/openapi.json", globs)  # the whole path, not the name
    assert not is_generated("OPENAPI.JSON", globs)  # case-sensitive, like paths on GitHub


def lockfile_bump() -> ChangedFile:
    return ChangedFile(path="package-lock.json", additions=20_936, deletions=7_886)


def test_a_lockfile_bump_counts_apart_from_authored_lines() -> None:
    files = [lockfile_bump(), ChangedFile(path="src/app.py", additions=40, deletions=2)]
    bump = pr(number=7, merged=days_ago(3), additions=20_976, deletions=7_888, files=files)
    report = build_report(collection([bump]), "1_year", until=UNTIL, generated_at=GENERATED)
    assert (report.total_additions, report.total_deletions) == (20_976, 7_888)  # GitHub's numbers
    assert (report.authored_additions, report.authored_deletions) == (40, 2)
    assert (report.generated_additions, report.generated_deletions) == (20_936, 7_886)
    row = report.repositories[0].prs[0]
    assert (row.additions, row.deletions, row.authored_additions, row.authored_deletions) == (
        20_976, 7_888, 40, 2,
    )  # fmt: skip
    assert row.size == "Small"  # 42 authored lines, not 28,864
    assert report.size_distribution["Small"] == 1 and report.size_distribution["Massive"] == 0
    assert [s.language for s in report.languages] == ["Python"]  # the lockfile is not "JSON work"


def test_lines_of_unlisted_files_count_as_authored() -> None:
    """GitHub lists at most 3,000 files, but its totals cover them all: what is not known to be
    generated is authored, so authored + generated is always GitHub's number."""
    files = [ChangedFile(path="vendor/lib/a.go", additions=100, deletions=10)]
    capped = pr(additions=5_000, deletions=500, files=files)
    report = build_report(collection([capped]), "1_year", until=UNTIL, generated_at=GENERATED)
    assert (report.authored_additions, report.authored_deletions) == (4_900, 490)
    assert (report.generated_additions, report.generated_deletions) == (100, 10)


def test_generated_paths_from_the_options_count_as_generated() -> None:
    files = [
        ChangedFile(path="src/__snapshots__/view.snap", additions=900, deletions=0),
        ChangedFile(path="src/view.ts", additions=30, deletions=3),
    ]
    snap = pr(additions=930, deletions=3, files=files)
    plain = build_report(collection([snap]), "1_year", until=UNTIL, generated_at=GENERATED)
    assert plain.generated_additions == 0 and plain.repositories[0].prs[0].size == "Large"
    options = ReportOptions(generated_paths=("*.snap",))
    report = build_report(collection([snap]), "1_year", until=UNTIL, generated_at=GENERATED, options=options)
    assert (report.authored_additions, report.generated_additions) == (30, 900)
    assert report.repositories[0].prs[0].size == "Small"


def test_generated_paths_setting_is_split_and_checked() -> None:
    settings = load_settings(generated_paths=" *.snap , schema/gen/* ")
    assert settings.generated_paths == ["*.snap", "schema/gen/*"]
    assert load_settings(generated_paths="").generated_paths == []
    for bad in ("/abs/path/*", "a[b"):
        with pytest.raises(ConfigError, match="GITBRAG_GENERATED_PATHS"):
            load_settings(generated_paths=bad)


def test_check_glob_says_why() -> None:
    assert check_glob("docs/*.html") == "docs/*.html"
    with pytest.raises(ValueError, match="relative"):
        check_glob("/docs/*")
