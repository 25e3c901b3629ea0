"""The site's machine-readable files: a per-user Atom feed, the sitemap and `robots.txt`.

Pure functions from reports to bytes; `publish` decides where they go. XML is built with
ElementTree, which escapes everything, after dropping the control characters XML 1.0
forbids (GitHub titles may contain them, and one would make the whole feed unreadable).

The feed lists a user's most recently merged pull requests, newest first, so a reader
subscribed to it sees each new merge once. Its links are absolute when the site's public
URL (`GITBRAG_BASE_URL`) is known, else relative to the feed's own address, which
feed readers resolve against the URL they fetched.

Sitemaps must list absolute URLs (sitemaps.org), so without a base URL there is no
sitemap, and `robots.txt` only names one when it exists. A sitemap file holds at most
`SITEMAP_MAX_URLS` URLs and `SITEMAP_MAX_BYTES` bytes (the protocol's limits), so the site's
is a sitemap index (`sitemap_index`, `sitemap.xml`) of urlsets (`sitemap`, `sitemap-N.xml`);
the publisher keeps each urlset far below both (`Publisher.publish_index`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from gitbrag.models import Report, ReportPR

ATOM_NS = "http://www.w3.org/2005/Atom"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
FEED_ENTRIES = 50
SITEMAP_MAX_URLS = 50_000  # URLs in one urlset, or sitemaps in one index (sitemaps.org)
SITEMAP_MAX_BYTES = 50 * 1024 * 1024  # 52,428,800 bytes, uncompressed
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    """`value` without the characters XML 1.0 cannot carry."""
    return _XML_FORBIDDEN.sub("", value)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _day_start(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = xml_text(text)
    return element


@dataclass(frozen=True)
class MergedPR:
    repo: str
    pr: ReportPR

    @property
    def merged_at(self) -> datetime:
        assert self.pr.merged_at is not None
        return self.pr.merged_at


def recently_merged(report: Report, limit: int = FEED_ENTRIES) -> list[MergedPR]:
    """The `limit` most recently merged pull requests of `report`, newest first."""
    merged = [MergedPR(r.name, pr) for r in report.repositories for pr in r.prs if pr.merged_at is not None]
    merged.sort(key=lambda m: (m.merged_at, m.repo, m.pr.number), reverse=True)
    return merged[:limit]


def atom_feed(
    report: Report,
    *,
    feed_id: str,
    self_href: str,
    page_href: str,
    safe_url: Callable[[str | None], str | None],
) -> bytes:
    """An Atom feed of `report`'s recently merged pull requests.

    `safe_url` vets each PR's URL (GitHub data); a PR whose URL it refuses gets an entry
    without a link. Without entries the feed's `updated` is the start of the report's
    generation day (the time would rewrite the feed every refresh), else the newest
    merge, so a refresh that merged nothing new does not make readers think something
    changed, and leaves the file as it was.
    """
    entries = recently_merged(report)
    name = report.profile.name or report.username
    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    _sub(feed, "id", feed_id)
    _sub(feed, "title", f"Pull requests merged by {name} (@{report.username})")
    _sub(feed, "updated", _iso(entries[0].merged_at if entries else _day_start(report.generated_at)))
    author = _sub(feed, "author")
    _sub(author, "name", name)
    _sub(feed, "link", rel="self", type="application/atom+xml", href=self_href)
    _sub(feed, "link", rel="alternate", type="text/html", href=page_href)
    _sub(feed, "generator", "gitbrag")
    for merged in entries:
        _entry(feed, merged, safe_url(merged.pr.url))
    return _document(feed)


def _document(root: ET.Element, comment: str = "") -> bytes:
    """The XML document of `root`; `comment` (no "--" in it) goes before the root element."""
    ET.indent(root)
    body: str = ET.tostring(root, encoding="unicode")
    head = '<?xml version="1.0" encoding="utf-8"?>\n' + (f"<!-- {comment} -->\n" if comment else "")
    return (head + body + "\n").encode("utf-8")


def _entry(feed: ET.Element, merged: MergedPR, link: str | None) -> None:
    pr = merged.pr
    entry = _sub(feed, "entry")
    _sub(entry, "id", link or f"tag:gitbrag,2008:{merged.repo}/pull/{pr.number}")
    _sub(entry, "title", f"{merged.repo}#{pr.number}: {pr.title}")
    _sub(entry, "updated", _iso(merged.merged_at))
    _sub(entry, "published", _iso(merged.merged_at))
    if link:
        _sub(entry, "link", rel="alternate", type="text/html", href=link)
    files = "file" if pr.changed_files == 1 else "files"
    summary = (
        f"Merged into {merged.repo}: {pr.size}, +{pr.additions:,} −{pr.deletions:,} "
        f"in {pr.changed_files:,} {files}."
    )
    _sub(entry, "summary", summary)


def sitemap(pages: Iterable[tuple[str, datetime]], comment: str = "") -> bytes:
    """A sitemap (`<urlset>`) of absolute page URLs with their last modification days (W3C
    dates: the pages themselves carry the day only, and a day's refreshes leave the file as
    it is); `comment` is written before it (what the publisher rendered it from)."""
    urlset = ET.Element("urlset", {"xmlns": SITEMAP_NS})
    for loc, modified in pages:
        url = _sub(urlset, "url")
        _sub(url, "loc", loc)
        _sub(url, "lastmod", _day(modified))
    return _document(urlset, comment)


def sitemap_index(sitemaps: Iterable[tuple[str, datetime]]) -> bytes:
    """A sitemap index (`<sitemapindex>`): the absolute URLs of sitemaps with the day each last
    changed (the newest of its pages'), so a crawler fetches again only the ones that did."""
    index = ET.Element("sitemapindex", {"xmlns": SITEMAP_NS})
    for loc, modified in sitemaps:
        entry = _sub(index, "sitemap")
        _sub(entry, "loc", loc)
        _sub(entry, "lastmod", _day(modified))
    return _document(index)


def _day(value: datetime) -> str:
    return value.astimezone(UTC).date().isoformat()


def robots_txt(sitemap_url: str | None) -> str:
    """Everything may be crawled; the sitemap is named when there is one."""
    lines = ["User-agent: *", "Allow: /"]
    if sitemap_url:
        lines += ["", f"Sitemap: {sitemap_url}"]
    return "\n".join(lines) + "\n"
