"""Which programming language a changed file is written in, judged from its name.

A report's "top languages" weigh changed lines by language. GitHub's API gives
only file paths for a pull request, so, like GitHub Linguist's first pass, we map
well-known file names and extensions to Linguist's language names. Content
sniffing is out of scope: an unknown name (``LICENSE``, ``data.bin``) is simply
not counted, which keeps the percentages about code rather than guesses.
"""

from __future__ import annotations

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
