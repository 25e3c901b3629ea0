"""File names and extensions map to GitHub Linguist language names."""

from __future__ import annotations

import pytest

from gitbrag.report.languages import language_for_path


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("gitbrag/report/build.py", "Python"),
        ("src/App.TSX", "TSX"),
        ("web/index.ts", "TypeScript"),
        ("lib/main.js", "JavaScript"),
        ("cmd/server/main.go", "Go"),
        ("src/lib.rs", "Rust"),
        ("include/vector.hpp", "C++"),
        ("src/Program.cs", "C#"),
        ("styles/site.scss", "SCSS"),
        ("docs/README.md", "Markdown"),
        (".github/workflows/ci.yml", "YAML"),
        ("pyproject.toml", "TOML"),
        ("db/schema.sql", "SQL"),
        ("components/Button.vue", "Vue"),
        ("Makefile", "Makefile"),
        ("sub/dir/GNUmakefile", "Makefile"),
        ("Dockerfile", "Dockerfile"),
        ("deploy/Dockerfile.prod", "Dockerfile"),
        ("CMakeLists.txt", "CMake"),
        ("Gemfile", "Ruby"),
        ("scripts/install.sh", "Shell"),
    ],
)
def test_known_names(path: str, language: str) -> None:
    assert language_for_path(path) == language


@pytest.mark.parametrize("path", ["LICENSE", "data/blob.bin", ".gitignore", "notes.", "weird/.env", ""])
def test_unknown_names_have_no_language(path: str) -> None:
    assert language_for_path(path) is None


def test_lookup_is_case_insensitive() -> None:
    assert language_for_path("SRC/MAIN.PY") == language_for_path("src/main.py") == "Python"
    assert language_for_path("MAKEFILE") == "Makefile"
