"""Jinja2 filters and small text helpers for the site: dates, numbers, initials, and
URLs limited to http(s) (anything GitHub returns is untrusted; a `javascript:` blog link
must never become a link).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from markupsafe import Markup

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ROLE_LABELS = {
    "OWNER": "Owner",
    "MEMBER": "Member",
    "COLLABORATOR": "Collaborator",
    "CONTRIBUTOR": "Contributor",
    "FIRST_TIME_CONTRIBUTOR": "First-time contributor",
    "FIRST_TIMER": "First-timer",
    "MANNEQUIN": "Mannequin",
    "NONE": "Outside contributor",
}
# A bare host as people type it into GitHub's "website" field: "example.com/blog".
_BARE_HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}(?::\d+)?(?:/\S*)?$")


def format_date(value: datetime | None) -> str:
    """12 Mar 2025 (no locale involved, so pages do not depend on the host's settings)."""
    if value is None:
        return ""
    value = _utc(value)
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def format_datetime(value: datetime) -> str:
    """12 Mar 2025, 14:05 UTC."""
    value = _utc(value)
    return f"{format_date(value)}, {value:%H:%M} UTC"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value


def format_number(value: int | float) -> str:
    return f"{value:,}"


def iso(value: datetime) -> str:
    """A `<time datetime>` value: whole seconds (HTML allows at most 3 fraction digits)."""
    return _utc(value).replace(microsecond=0).isoformat()


def iso_date(value: datetime) -> str:
    """A `<time datetime>` day (2025-03-12, UTC): what pages show of when they were made, so
    a page is byte-identical across a day's refreshes of an unchanged report."""
    return _utc(value).date().isoformat()


def count(value: int, singular: str, plural: str | None = None) -> str:
    """1 pull request, 1,250 pull requests."""
    return f"{value:,} {singular if value == 1 else (plural or singular + 's')}"


def initials(name: str | None, login: str) -> str:
    """Up to two letters for an avatar placeholder: from the name's words, else the login."""
    words = re.findall(r"[^\W_]+", name or "") or [login]
    return "".join(w[0] for w in words[:2]).upper()


_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def finalize(value: Any) -> Any:
    """Applied to every `{{ }}` value: drops control characters, which GitHub text may
    carry but HTML must not; `Markup` (our own charts) passes untouched."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _CONTROL_RE.sub("", value)
    return value


_URL_UNSAFE_RE = re.compile(r"[\s\x00-\x1f\x7f]")
_URL_SAFE_CHARS = "!#$%&'()*+,/:;=?@[]~"  # reserved characters and "%": kept as they are


@functools.lru_cache(maxsize=65536)  # every PR link is vetted on several pages
def safe_url(value: str | None) -> str | None:
    """`value` if it is an absolute http(s) URL, else None: keeps `javascript:` and the like out of hrefs."""
    if not value:
        return None
    url = value.strip()
    if _URL_UNSAFE_RE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Percent-encode what a URL may not contain raw (quotes, <, >, non-ASCII...): harmless
    # in an attribute anyway, since Jinja escapes it, but a valid URL is a valid page.
    return quote(url, safe=_URL_SAFE_CHARS)


def blog_url(value: str | None) -> str | None:
    """A profile's website as a safe link; GitHub lets people omit the scheme, so add https."""
    if value and _BARE_HOST_RE.fullmatch(value.strip()):
        return safe_url("https://" + value.strip())
    return safe_url(value)


def url_host(value: str | None) -> str:
    """The host of a URL, for link text such as a generic social account."""
    return urlsplit(value).netloc if value else ""


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role.replace("_", " ").capitalize())


def slug(value: str) -> str:
    """CSS-class-safe form of a fixed label ("One Liner" -> "one-liner")."""
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


FILTERS: dict[str, Any] = {
    "date": format_date,
    "datetime": format_datetime,
    "number": format_number,
    "iso": iso,
    "iso_date": iso_date,
    "count": count,
    "initials": initials,
    "safe_url": safe_url,
    "blog_url": blog_url,
    "url_host": url_host,
    "role_label": role_label,
    "slug": slug,
}
