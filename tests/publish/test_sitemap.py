"""The sitemap is valid however many people are tracked, and costs what changed: `sitemap.xml`
is a sitemap index (the file robots.txt names) of `sitemap-N.xml` urlsets, one per index page's
users, each far below the protocol's 50,000 URLs and 50 MB; a publish where one user changed
rewrites that user's urlset and the index, nothing else; urlsets past the last go with the
people who left, and without a base URL there is no sitemap file at all.

The index page size is small here (`Publisher(index_page_rows=...)`): the same code paths as
100,000 people in pages of 100."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

from gitbrag.models import Login, Period, Report
from gitbrag.publish.feeds import SITEMAP_MAX_BYTES, SITEMAP_MAX_URLS
from gitbrag.publish.people import IndexEntry
from gitbrag.publish.publisher import SITEMAP_USER_URLS, SITEMAP_USERS, Publisher
from tests.publish.test_publish import make_collection, make_pr, reports_for

NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BASE = "https://brag.example.org/reports/"
W3C_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
LOGINS = ["Ada", "bob", "Cyd", "dee", "Eve"]  # index pages of 2: three urlsets
AT = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)
AT_DAY = reports_for(make_collection())["1_year"].generated_at.date()  # the published reports' day


def children(path: Path, root: str, child: str) -> list[dict[str, str]]:
    """A sitemap file's entries, its shape checked against the protocol: the root element and
    its children in the sitemaps.org namespace, each with an absolute <loc> under the site's
    address (under 2,048 characters) and a W3C <lastmod> day, nothing else."""
    assert path.read_bytes().startswith(b'<?xml version="1.0" encoding="utf-8"?>\n')
    document = ElementTree.parse(path).getroot()
    assert document.tag == f"{NS}{root}"
    entries = []
    for element in document:
        assert element.tag == f"{NS}{child}"
        fields = {field.tag.removeprefix(NS): field.text or "" for field in element}
        assert [field.tag for field in element] == [f"{NS}loc", f"{NS}lastmod"]
        assert fields["loc"].startswith(BASE) and len(fields["loc"]) < 2048
        assert W3C_DAY.fullmatch(fields["lastmod"])
        entries.append(fields)
    return entries


def sitemap_files(site: Path) -> list[str]:
    return sorted(p.name for p in site.glob("sitemap*.xml"))


def sitemap_urls(site: Path) -> list[str]:
    """Every URL of the sitemap, followed from `sitemap.xml` (the index) to each urlset."""
    urls = []
    for listed in children(site / "sitemap.xml", "sitemapindex", "sitemap"):
        urls += [u["loc"] for u in children(site / listed["loc"].removeprefix(BASE), "urlset", "url")]
    return urls


def publish_people(publisher: Publisher, logins: list[str] = LOGINS) -> dict[str, dict[Period, Report]]:
    published = {login: reports_for(make_collection(login)) for login in logins}
    for reports in published.values():
        publisher.publish_user(reports)
    publish_index(publisher, logins)
    return published


def publish_index(publisher: Publisher, logins: list[str] = LOGINS) -> None:
    """What a pass does: the index from the rows kept in each user's generated.json."""
    publisher.publish_index(publisher.index_entries([Login(name) for name in logins]))


def test_the_sitemap_is_an_index_of_urlsets_listing_every_page_once(tmp_path: Path) -> None:
    site = tmp_path / "site"
    published = publish_people(Publisher(site, base_url=BASE, index_page_rows=2))
    assert sitemap_files(site) == ["sitemap-1.xml", "sitemap-2.xml", "sitemap-3.xml", "sitemap.xml"]
    listed = children(site / "sitemap.xml", "sitemapindex", "sitemap")
    assert [s["loc"] for s in listed] == [f"{BASE}sitemap-{n}.xml" for n in (1, 2, 3)]
    assert {s["lastmod"] for s in listed} == {
        reports_for(make_collection())["1_year"].generated_at.date().isoformat()
    }
    urls = sitemap_urls(site)
    assert len(urls) == len(set(urls))  # each page once
    expected = {BASE} | {
        f"{BASE}{Login(login)}/{'' if period == '1_year' else period + '/'}"
        for login, reports in published.items()
        for period in reports
    }
    assert set(urls) == expected
    for url in urls:  # every URL is a published page
        assert (site / url.removeprefix(BASE) / "index.html").is_file(), url
    # The first urlset has the root and the first index page's users; the last, Eve.
    first = [u["loc"] for u in children(site / "sitemap-1.xml", "urlset", "url")]
    assert first[:2] == [BASE, f"{BASE}ada/"] and {u.split("/")[4] for u in first[1:]} == {"ada", "bob"}
    assert {u.split("/")[4] for u in sitemap_urls(site)[-3:]} == {"eve"}


def test_a_users_periods_come_from_its_row_and_follow_its_pages(tmp_path: Path) -> None:
    """A period dropped from a user's pages (its folder removed) leaves the sitemap, though
    the user's index row shows the same figures."""
    site = tmp_path / "site"
    published = publish_people(Publisher(site, base_url=BASE, index_page_rows=2))
    dropped = list(published["Cyd"])[-1]  # a calendar year
    assert f"{BASE}cyd/{dropped}/" in sitemap_urls(site)
    publisher = Publisher(site, base_url=BASE, index_page_rows=2)
    publisher.publish_user({p: r for p, r in published["Cyd"].items() if p != dropped})
    assert not (site / "cyd" / dropped).exists()
    publish_index(publisher)
    urls = sitemap_urls(site)
    assert f"{BASE}cyd/{dropped}/" not in urls and f"{BASE}cyd/" in urls
    assert f"{BASE}ada/{dropped}/" in urls


def later(reports: dict[Period, Report], days: int) -> dict[Period, Report]:
    return {
        p: r.model_copy(update={"generated_at": r.generated_at + timedelta(days=days)})
        for p, r in reports.items()
    }


def test_one_users_change_rewrites_only_its_urlset_and_the_index(tmp_path: Path) -> None:
    site = tmp_path / "site"
    publisher = Publisher(site, base_url=BASE, index_page_rows=2)
    publish_people(publisher)
    prs = [
        make_pr(1, "Add the thing", "https://github.com/o/r/pull/1", 10),
        make_pr(3, "New", "https://github.com/o/r/pull/3", 0),
    ]
    publisher.publish_user(
        later(reports_for(make_collection("Ada", prs=prs)), 2)
    )  # the newest: the root's day
    publish_index(publisher)

    def state() -> dict[str, tuple[int, bytes]]:
        return {
            name: ((site / name).stat().st_mtime_ns, (site / name).read_bytes())
            for name in sitemap_files(site)
        }

    before = state()
    assert len(before) == 4
    again = Publisher(site, base_url=BASE, index_page_rows=2)  # a new process: nothing in memory
    publish_index(again)
    assert state() == before and again.files_written == 0
    # Eve (the third urlset) opens a pull request a day later: her row changes.
    reports = later(reports_for(make_collection("Eve", prs=prs)), 1)
    next_pass = Publisher(site, base_url=BASE, index_page_rows=2)
    next_pass.publish_user(reports)
    publish_index(next_pass)
    after = state()
    assert {name for name in after if after[name] != before[name]} == {"sitemap-3.xml", "sitemap.xml"}
    listed = children(site / "sitemap.xml", "sitemapindex", "sitemap")
    days = [(AT_DAY + timedelta(days=d)).isoformat() for d in (2, 0, 1)]
    assert [s["lastmod"] for s in listed] == days  # the newest row's of each


def entry(n: int, periods: tuple[str, ...] = ("1_year", "2_years", "all_time")) -> IndexEntry:
    """A tracked person's row as generated.json keeps it, naming the user's periods."""
    return IndexEntry(
        login=f"user-{n:05d}", name=f"Person {n}", avatar_url=None, total_prs=n, merged_count=0,
        generated_at=AT, periods=periods,
    )  # fmt: skip


def test_fewer_people_remove_the_urlsets_past_the_last_and_no_base_url_removes_all(tmp_path: Path) -> None:
    site = tmp_path / "site"
    publisher = Publisher(site, base_url=BASE, index_page_rows=2)
    publisher.publish_index([entry(n) for n in range(7)])
    assert sitemap_files(site) == [f"sitemap-{n}.xml" for n in (1, 2, 3, 4)] + ["sitemap.xml"]
    assert len(sitemap_urls(site)) == 1 + 7 * 3
    Publisher(site, base_url=BASE, index_page_rows=2).publish_index([entry(n) for n in range(3)])
    assert sitemap_files(site) == ["sitemap-1.xml", "sitemap-2.xml", "sitemap.xml"]
    assert len(sitemap_urls(site)) == 1 + 3 * 3
    Publisher(site, index_page_rows=2).publish_index([entry(n) for n in range(3)])
    assert sitemap_files(site) == []


def many_periods(count: int) -> tuple[str, ...]:
    """`count` periods: the rolling ones and single-day ranges (each a page of the user)."""
    first = datetime(2020, 1, 1, tzinfo=UTC).date()
    days = [(first + timedelta(days=d)).isoformat() for d in range(count - 4)]
    return ("1_year", "2_years", "5_years", "all_time", *(f"{d}..{d}" for d in days))


def test_no_sitemap_file_exceeds_the_protocols_limits(tmp_path: Path) -> None:
    """The worst case: index pages larger than a urlset's users, users with more periods than
    a urlset lists of one, and a site address making each URL as long as the protocol allows."""
    site = tmp_path / "site"
    base = "https://brag.example.org/" + "p" * (2047 - 63 - 25) + "/"  # the longest URL: 2,047
    periods = many_periods(SITEMAP_USER_URLS + 30)
    publisher = Publisher(site, base_url=base, index_page_rows=SITEMAP_USERS * 3)
    publisher.publish_index([entry(n, periods) for n in range(SITEMAP_USERS * 2 + 1)])
    assert sitemap_files(site) == ["sitemap-1.xml", "sitemap-2.xml", "sitemap-3.xml", "sitemap.xml"]
    for name in sitemap_files(site):
        urls = re.findall(rb"<loc>([^<]*)</loc>", (site / name).read_bytes())
        assert len(urls) <= SITEMAP_USERS * SITEMAP_USER_URLS + 1 <= SITEMAP_MAX_URLS // 4
        assert (site / name).stat().st_size < SITEMAP_MAX_BYTES // 2
        assert all(len(url) < 2048 for url in urls)
    first = (site / "sitemap-1.xml").read_bytes()
    assert first.count(b"<loc>") == 1 + SITEMAP_USERS * SITEMAP_USER_URLS
