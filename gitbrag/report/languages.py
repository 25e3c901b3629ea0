"""What a changed file is, judged from its name: its language, and whether a person wrote it.

A report's "top languages" weigh changed lines by language. GitHub's API gives
only file paths for a pull request, so, like GitHub Linguist's first pass, we map
well-known file names and extensions to Linguist's language names. Content
sniffing is out of scope: an unknown name (``LICENSE``, ``data.bin``) is simply
not counted, which keeps the percentages about code rather than guesses.

A lockfile bump of +20,936 −7,886 is not 28,000 lines of work, so files Linguist treats
as generated or vendored (lockfiles, minified and source-map files, generated code with a
telltale name, `vendor/`, `node_modules/`, `dist/`, ...) are told apart by path
(`is_generated`), following Linguist's path rules (`generated.rb`, `vendor.yml`), plus
the operator's own globs (`GITBRAG_GENERATED_PATHS`). Linguist also reads contents
("// Code generated ... DO NOT EDIT."), which a pull request's file list does not carry.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from functools import lru_cache

# Whole file names that decide the language on their own (lowercased).
FILENAMES: dict[str, str] = {
    "dockerfile": "Dockerfile",
    "containerfile": "Dockerfile",
    "makefile": "Makefile",
    "gnumakefile": "Makefile",
    "cmakelists.txt": "CMake",
    "gemfile": "Ruby",
    "rakefile": "Ruby",
    "podfile": "Ruby",
    "vagrantfile": "Ruby",
    "jenkinsfile": "Groovy",
    "justfile": "Just",
    "build.gradle": "Gradle",
    "settings.gradle": "Gradle",
    "go.mod": "Go Module",
    "cargo.lock": "TOML",
    "pipfile": "TOML",
    ".bashrc": "Shell",
    ".bash_profile": "Shell",
    ".zshrc": "Shell",
    ".profile": "Shell",
}

# Extensions without the dot (lowercased). Names follow GitHub Linguist.
EXTENSIONS: dict[str, str] = {
    "py": "Python",
    "pyi": "Python",
    "pyx": "Cython",
    "ipynb": "Jupyter Notebook",
    "ts": "TypeScript",
    "tsx": "TSX",
    "mts": "TypeScript",
    "cts": "TypeScript",
    "js": "JavaScript",
    "mjs": "JavaScript",
    "cjs": "JavaScript",
    "jsx": "JavaScript",
    "go": "Go",
    "rs": "Rust",
    "java": "Java",
    "c": "C",
    "h": "C",
    "cc": "C++",
    "cpp": "C++",
    "cxx": "C++",
    "c++": "C++",
    "hh": "C++",
    "hpp": "C++",
    "hxx": "C++",
    "cs": "C#",
    "fs": "F#",
    "rb": "Ruby",
    "erb": "HTML+ERB",
    "php": "PHP",
    "swift": "Swift",
    "m": "Objective-C",
    "mm": "Objective-C++",
    "kt": "Kotlin",
    "kts": "Kotlin",
    "scala": "Scala",
    "sc": "Scala",
    "groovy": "Groovy",
    "gradle": "Gradle",
    "clj": "Clojure",
    "cljs": "Clojure",
    "ex": "Elixir",
    "exs": "Elixir",
    "erl": "Erlang",
    "hs": "Haskell",
    "ml": "OCaml",
    "lua": "Lua",
    "pl": "Perl",
    "pm": "Perl",
    "r": "R",
    "jl": "Julia",
    "dart": "Dart",
    "zig": "Zig",
    "nim": "Nim",
    "sh": "Shell",
    "bash": "Shell",
    "zsh": "Shell",
    "fish": "fish",
    "ps1": "PowerShell",
    "bat": "Batchfile",
    "cmd": "Batchfile",
    "html": "HTML",
    "htm": "HTML",
    "xhtml": "HTML",
    "css": "CSS",
    "scss": "SCSS",
    "sass": "Sass",
    "less": "Less",
    "vue": "Vue",
    "svelte": "Svelte",
    "astro": "Astro",
    "md": "Markdown",
    "markdown": "Markdown",
    "mdx": "MDX",
    "rst": "reStructuredText",
    "tex": "TeX",
    "yml": "YAML",
    "yaml": "YAML",
    "json": "JSON",
    "jsonc": "JSON with Comments",
    "toml": "TOML",
    "ini": "INI",
    "cfg": "INI",
    "xml": "XML",
    "proto": "Protocol Buffer",
    "graphql": "GraphQL",
    "gql": "GraphQL",
    "sql": "SQL",
    "tf": "HCL",
    "hcl": "HCL",
    "nix": "Nix",
    "dockerfile": "Dockerfile",
    "mk": "Makefile",
    "cmake": "CMake",
    "sol": "Solidity",
    "elm": "Elm",
    "vim": "Vim Script",
}


@lru_cache(maxsize=16384)
def language_for_path(path: str) -> str | None:
    """The Linguist name of the language of `path`, or None when the name says nothing.

    Cached because the same paths come back with every refresh of the same user.
    """
    name = path.rsplit("/", 1)[-1].lower()
    if name in FILENAMES:
        return FILENAMES[name]
    if name.startswith("dockerfile."):  # Dockerfile.dev, Dockerfile.prod
        return "Dockerfile"
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:  # no extension, or a dotfile such as ".gitignore"
        return None
    return EXTENSIONS.get(extension)


# --- generated and vendored files ---------------------------------------------------------

# Lockfiles and other files tools write (lowercased whole names), after Linguist's generated.rb.
GENERATED_NAMES = frozenset(
    {
        "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb",
        "poetry.lock", "pdm.lock", "pipfile.lock", "uv.lock", "cargo.lock", "go.sum", "gopkg.lock",
        "glide.lock", "composer.lock", "gemfile.lock", "mix.lock", "flake.lock", "podfile.lock",
        "packages.lock.json", "pubspec.lock", ".terraform.lock.hcl",
    }
)  # fmt: skip
# Endings of minified, source-map and compiler-generated files (lowercased).
GENERATED_SUFFIXES = (
    ".min.js", ".min.css", "-min.js", ".js.map", ".css.map", ".pb.go", "_pb2.py", "_pb2_grpc.py",
    ".pb.cc", ".pb.h", ".designer.cs", ".designer.vb", ".feature.cs", ".g.dart", ".freezed.dart",
)  # fmt: skip
# Folders of other people's code or build output, anywhere in the path (Linguist's vendor.yml).
VENDORED_FOLDERS = frozenset(
    {"node_modules", "vendor", "vendors", "bower_components", "dist", "third_party", "thirdparty",
     "3rdparty", "Godeps", "Pods", ".idea"}
)  # fmt: skip


@lru_cache(maxsize=16384)  # as language_for_path: the same paths return with every refresh
def _builtin_generated(path: str) -> bool:
    folders, _, name = path.rpartition("/")
    lowered = name.lower()
    if lowered in GENERATED_NAMES or lowered.endswith(GENERATED_SUFFIXES):
        return True
    return any(folder in VENDORED_FOLDERS for folder in folders.split("/") if folder)


def is_generated(path: str, globs: Iterable[str] = ()) -> bool:
    """Whether `path` is a generated or vendored file: by Linguist's path rules, or by one of
    `globs` (shell patterns matched against the whole path, case-sensitive, `*` crossing "/")."""
    return _builtin_generated(path) or any(fnmatchcase(path, glob) for glob in globs)


def check_glob(glob: str) -> str:
    """A `GITBRAG_GENERATED_PATHS` entry as given, or `ValueError` saying why it can match nothing."""
    if not glob or glob != glob.strip():
        raise ValueError("an entry is empty or has spaces around it")
    if glob.startswith("/"):
        raise ValueError(f"{glob!r} starts with '/': paths in a pull request are relative")
    if glob.count("[") != glob.count("]"):
        raise ValueError(f"{glob!r} has an unclosed [")
    return glob
