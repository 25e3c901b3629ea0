"""Jinja2 filters and small text helpers for the site: dates, numbers, initials, and
URLs limited to http(s) (anything GitHub returns is untrusted; a `javascript:` blog link
must never become a link).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from markupsafe import Markup

from gitbrag.periods import DEFAULT_TIMEZONE, timezone_named

if TYPE_CHECKING:
    from gitbrag.models import Profile

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


def format_date(value: datetime | None, zone: str = DEFAULT_TIMEZONE) -> str:
    """12 Mar 2025 (no locale involved, so pages do not depend on the host's settings), the
    day in `zone`: a report's dates are days of its time zone (`Report.timezone`)."""
    if value is None:
        return ""
    value = _in_zone(value, zone)
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def format_datetime(value: datetime) -> str:
    """12 Mar 2025, 14:05 UTC."""
    value = _utc(value)
    return f"{format_date(value)}, {value:%H:%M} UTC"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value


def _in_zone(value: datetime, zone: str) -> datetime:
    return value.astimezone(timezone_named(zone)) if value.tzinfo is not None else value


def format_number(value: int | float) -> str:
    return f"{value:,}"


def iso(value: datetime) -> str:
    """A `<time datetime>` value: whole seconds (HTML allows at most 3 fraction digits)."""
    return _utc(value).replace(microsecond=0).isoformat()


def iso_date(value: datetime, zone: str = DEFAULT_TIMEZONE) -> str:
    """A `<time datetime>` day (2025-03-12, in `zone`, UTC unless told): what pages show of
    when they were made, so a page is byte-identical across a day's refreshes of an unchanged report."""
    return _in_zone(value, zone).date().isoformat()


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


# GitHub's social account providers (REST `provider`, lowercased), as people name them.
PROVIDER_LABELS = {
    "twitter": "X",
    "linkedin": "LinkedIn",
    "mastodon": "Mastodon",
    "hometown": "Hometown",
    "bluesky": "Bluesky",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "reddit": "Reddit",
    "youtube": "YouTube",
    "twitch": "Twitch",
    "npm": "npm",
    "generic": "Link",
}
# Handles people write with an "@": "@mona" on X or Instagram.
_AT_HANDLES = frozenset({"twitter", "instagram"})
_FEDIVERSE = frozenset({"mastodon", "hometown"})


@dataclass(frozen=True)
class ProfileLink:
    """One of the links under a person's name: what it is, the text to show, where it goes."""

    label: str  # "Website", "X", "LinkedIn", ...
    text: str  # what the person would recognise: "@mona", "in/mona", "mona.example.com/blog"
    href: str  # a vetted http(s) URL
    rel: str


def _host(parts: Any) -> str:
    host = str(parts.hostname or "").lower()
    return host.removeprefix("www.")


def address_text(url: str) -> str:
    """A link's address as people write it: host and path, without scheme, `www.`, query
    or trailing slash (`mona.example.com`, `pat.example.org/about`)."""
    parts = urlsplit(url.strip())
    return _host(parts) + unquote(parts.path).rstrip("/")


def normalised_url(url: str) -> str:
    """The same address however it is typed: no scheme, no `www.`, no trailing slash, one
    case for the host, twitter.com as x.com. `https://www.Example.com/me/` and
    `http://example.com/me` are one website, listed once."""
    parts = urlsplit(url.strip())
    host = _host(parts)
    host = "x.com" if host == "twitter.com" else host
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{unquote(parts.path).rstrip('/')}{query}"


def social_text(provider: str, url: str) -> str:
    """The handle or path a person recognises as theirs, from an account's URL: `@mona` on X,
    `in/mona` on LinkedIn, `@mona@mastodon.social`, `@mona.bsky.social`; for a generic link
    its host and path (`pat.example.org/about`). Never only the host of a social network."""
    parts = urlsplit(url.strip())
    path = unquote(parts.path).strip("/")
    provider = provider.lower()
    if not path:
        return _host(parts)
    if provider in _AT_HANDLES and "/" not in path:
        return "@" + path.removeprefix("@")
    if provider in _FEDIVERSE and path.startswith("@") and "/" not in path:
        return f"{path}@{_host(parts)}"
    if provider == "bluesky" and path.startswith("profile/"):
        return "@" + path.removeprefix("profile/")
    if provider in PROVIDER_LABELS and provider != "generic":
        return path
    return address_text(url)


def profile_links(profile: Profile) -> list[ProfileLink]:
    """The website and social accounts of a profile, in GitHub's order, only http(s) ones,
    each address once: GitHub lets people enter their website again as a social link."""
    links: list[ProfileLink] = []
    seen: set[str] = set()
    blog = blog_url(profile.blog)
    if blog:
        links.append(ProfileLink("Website", address_text(blog), blog, "noopener nofollow"))
        seen.add(normalised_url(blog))
    for account in profile.social_accounts:
        href = safe_url(account.url)
        if not href or normalised_url(href) in seen:
            continue
        seen.add(normalised_url(href))
        label = PROVIDER_LABELS.get(account.provider.lower(), account.provider.capitalize() or "Link")
        links.append(
            ProfileLink(label, social_text(account.provider, account.url), href, "noopener nofollow me")
        )
    return links


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
    "profile_links": profile_links,
    "role_label": role_label,
    "slug": slug,
}
