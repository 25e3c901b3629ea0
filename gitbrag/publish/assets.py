"""The site's stylesheet and script, published under content-hashed names
(`assets/style.<hash>.css`).

A new look is a new name, never new bytes under an old one, so a page cached by a browser
or a proxy keeps the look it was rendered with, and a fresh page never mixes with an old
stylesheet. They are found like templates: the operator's folder first, then the packaged
defaults (`gitbrag.publish.templates.search_path`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

ASSETS = ("style.css", "site.js")


class Assets:
    """`ASSETS` as found in `search_path`, each named after its content when constructed:
    every page rendered afterwards links those names."""

    def __init__(self, search_path: Sequence[Path]):
        self._search_path = list(search_path)
        self._hashed = {name: self._hashed_name(name) for name in ASSETS}

    def path(self, name: str) -> str:
        """Where an asset is published, from the site's root (`asset_path` in templates)."""
        return "assets/" + self._hashed[name]

    def files(self) -> Iterator[tuple[str, bytes]]:
        """Each asset's published path and its bytes, to be written into the site."""
        for name in ASSETS:
            yield self.path(name), self.source(name).read_bytes()

    def source(self, name: str) -> Path:
        for directory in self._search_path:
            candidate = directory / "assets" / name
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"template asset {name!r} not found in {self._search_path}")

    def _hashed_name(self, name: str) -> str:
        digest = hashlib.sha256(self.source(name).read_bytes()).hexdigest()[:10]
        stem, dot, ext = name.rpartition(".")
        return f"{stem}.{digest}{dot}{ext}"
