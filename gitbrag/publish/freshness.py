"""Where a published user's times live, so that an unchanged refresh rewrites no page.

A refresh that finds nothing new must cost no page, on any day, "Updating" notice included.
So the time is split by how often it changes:

* A report page shows what stays true until its content changes: the window and the day
  of the generation that last changed it ("Generated 3 Mar 2026"); its numbers describe
  exactly that window, whenever it is read. An unchanged refresh, the next day or a month
  later, leaves the page, its repository pages and its `report.json` as they are.
* `report.json` keeps, with the page, the window (`since`, `until`), `generated_at` and
  `generation` of the generation that last changed it (`Stamp`): still correct, and not
  rewritten (it is megabytes for a prolific user) when only the clock moved.
* `<login>/generated.json` (a few hundred bytes, `Freshness`) is what every refresh
  rewrites: when each period was last generated, changed or not (the page's script shows
  it, and says how old the page is past the stale age); `updating`, true while a refresh
  of the user runs (the script shows an "Updating" label); and `generation`, the newest
  generation published for the user, which the fencing compares with.

Its periods are top-level keys, as before `updating` and `generation` joined them, so pages
published by an older version (and their cached script) keep reading it. `pages` is the
publisher's own record of what it rendered (`gitbrag.publish.publisher`): per period, and for the
user's front files, a digest of the inputs of the pages and of the files as written; a
refresh that finds both unchanged renders nothing. The pages' script never reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from gitbrag.publish.filters import iso

UPDATING = "updating"
GENERATION = "generation"
PAGES = "pages"
SETTINGS = "settings"
ROW = "index"  # the user's row on the index (`gitbrag.publish.people.IndexEntry.to_row`)
FILE_NAME = "generated.json"


class Stamp(BaseModel):
    """A published report.json's window, time and generation, read without building the
    rest (pydantic skips the ignored fields: milliseconds and no memory for megabytes)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    since: datetime
    until: datetime
    generated_at: datetime
    generation: int = 0
    demo: bool = False  # published by `--demo` (`Report.demo`); not a stamp field

    def fields(self) -> dict[str, object]:
        """The report fields this stamp sets (`Report.model_copy(update=...)`)."""
        return {
            "since": self.since,
            "until": self.until,
            "generated_at": self.generated_at,
            "generation": self.generation,
        }


@dataclass(frozen=True)
class Freshness:
    """`<login>/generated.json`: when each period was last generated, whether a refresh is
    running, and the newest generation published."""

    checked: dict[str, datetime] = field(default_factory=dict)  # period -> last generated (changed or not)
    updating: bool = False
    generation: int = 0
    pages: dict[str, str] = field(
        default_factory=dict
    )  # group -> "<inputs>:<files>" (gitbrag.publish.publisher)
    # A digest of the settings the pages and reports were made with (`Publisher.rendered_with`):
    # when they change, the refresher renders the pages again from the kept collection.
    settings: str = ""
    # The user's index row (`IndexEntry.to_row`): the index is rebuilt from these few hundred
    # bytes per user, never from the report.json files. None when not recorded yet.
    row: dict[str, object] | None = None

    def to_json(self) -> str:
        body: dict[str, object] = {period: iso(at) for period, at in self.checked.items()}
        body |= {UPDATING: self.updating, GENERATION: self.generation}
        if self.pages:
            body[PAGES] = self.pages
        if self.settings:
            body[SETTINGS] = self.settings
        if self.row is not None:
            body[ROW] = self.row
        return json.dumps(body, indent=1) + "\n"

    @classmethod
    def from_json(cls, data: bytes) -> Freshness | None:
        """The file's content, or None when it is not what the publisher writes (then the
        publisher rebuilds it from the report.json files)."""
        try:
            body = json.loads(data)
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        checked: dict[str, datetime] = {}
        for key, value in body.items():
            if key in (UPDATING, GENERATION, PAGES, SETTINGS, ROW):
                continue
            try:
                at = datetime.fromisoformat(value)
            except (TypeError, ValueError):
                return None
            if at.tzinfo is None:
                return None
            checked[key] = at
        generation = body.get(GENERATION, 0)
        if not isinstance(generation, int) or isinstance(generation, bool) or generation < 0:
            return None
        settings = body.get(SETTINGS)
        row = body.get(ROW)
        return cls(
            checked,
            body.get(UPDATING) is True,
            generation,
            _pages(body.get(PAGES)),
            settings if isinstance(settings, str) else "",
            row if isinstance(row, dict) else None,
        )


def _pages(value: object) -> dict[str, str]:
    """The publisher's record, when it is one; anything else is no record (all is rendered)."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return {}
    return {str(k): v for k, v in value.items()}
