"""The embeddable card (`site/<login>/card.svg`, per period, light and dark): valid SVG under
15 KB that draws the headline numbers, fetches nothing, runs nothing, and keeps a hostile
profile's text as text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gitbrag.fakegithub.dataset import HOSTILE_STRINGS
from gitbrag.models import Profile
from gitbrag.publish.cards import CARD_FILES, HEIGHT, WIDTH, Headline, card_svg, compact
from gitbrag.publish.publisher import Publisher
from tests.publish.test_publish import make_collection, reports_for

SVG = "{http://www.w3.org/2000/svg}"
# Every element the card draws: anything else in a card is injected markup.
DRAWN = {f"{SVG}{tag}" for tag in ("svg", "title", "desc", "rect", "circle", "text")}
SCRIPT, IMG, QUOTES, UNICODE, EMOJI = HOSTILE_STRINGS


def hostile_profile(login: str = "hostile-hank") -> Profile:
    """The demo's hostile-hank, as the fake GitHub serves him."""
    return Profile(
        login=login,
        name=f"{SCRIPT} {UNICODE} {EMOJI}",
        bio=f"{IMG} {QUOTES}",
        company='<b>Evil & Co</b> <a href="javascript:alert(2)">',
        avatar_url="javascript:alert(1)",
    )


def assert_inert(svg: str) -> ET.Element:
    """Parses as XML; only drawn elements; no event handler, link, style or external reference."""
    root = ET.fromstring(svg)
    found = {el.tag for el in root.iter()}
    assert found <= DRAWN, found - DRAWN
    for el in root.iter():
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), name
            assert "href" not in name.lower(), name
            assert name != "style", name
            assert "url(" not in value and "javascript:" not in value, (name, value)
    return root


def texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter() if el.tag == f"{SVG}text"]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_card_draws_the_headline_numbers_in_a_small_valid_svg(theme: str) -> None:
    report = reports_for(make_collection())["1_year"]
    svg = card_svg(Headline.from_report(report), theme)  # type: ignore[arg-type]
    root = assert_inert(svg)
    assert len(svg.encode()) < 15_000
    assert (root.get("width"), root.get("height")) == (str(WIDTH), str(HEIGHT))
    drawn = texts(root)
    assert "Octo Cat" in drawn and "OC" in drawn
    assert str(report.total_prs) in drawn and str(report.repo_count) in drawn
    assert compact(report.authored_additions + report.authored_deletions) in drawn
    assert any(t.startswith(report.languages[0].language) for t in drawn)
    # The accessible description says every number.
    desc = root.find(f"{SVG}desc")
    assert desc is not None and f"{report.total_prs:,} pull requests" in (desc.text or "")


def test_a_hostile_profile_is_only_text_on_the_card() -> None:
    report = reports_for(make_collection("hostile-hank", profile=hostile_profile()))["1_year"]
    for theme in ("light", "dark"):
        svg = card_svg(Headline.from_report(report), theme)
        root = assert_inert(svg)
        assert "<script" not in svg and "<img" not in svg
        name = texts(root)[1]
        assert name.startswith(SCRIPT[:20])  # drawn as the characters it is, cut to fit


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0"), (999, "999"), (1000, "1k"), (1234, "1.2k"), (37_812, "37.8k"), (2_500_000, "2.5M")],
)
def test_compact_numbers_fit_five_side_by_side(value: int, shown: str) -> None:
    assert compact(value) == shown


def test_publishing_writes_both_cards_for_every_period_and_the_front_one(tmp_path: Path) -> None:
    site = tmp_path / "site"
    reports = reports_for(make_collection("hostile-hank", profile=hostile_profile()))
    Publisher(site).publish_user(reports)
    for period in reports:
        for name in CARD_FILES.values():
            card = site / "hostile-hank" / period / name
            assert_inert(card.read_text(encoding="utf-8"))
            assert card.stat().st_size < 15_000
    for name in CARD_FILES.values():  # the 1-year card, at the address a README embeds
        front = (site / "hostile-hank" / name).read_bytes()
        assert front == (site / "hostile-hank" / "1_year" / name).read_bytes()
    page = (site / "hostile-hank" / "index.html").read_text(encoding="utf-8")
    # The embed snippets, escaped on the page: the HTML one shows as text, never as an element.
    # Without GITBRAG_BASE_URL, paths from the site's address (it may be served under a prefix).
    assert "[![GitHub contributions of @hostile-hank](hostile-hank/card.svg)](hostile-hank/)" in page
    assert "&lt;picture&gt;&lt;source media=" in page


def test_embed_snippets_use_absolute_addresses_with_a_base_url(tmp_path: Path) -> None:
    site = tmp_path / "site"
    reports = reports_for(make_collection())
    Publisher(site, base_url="https://brag.example.org/").publish_user(reports)
    page = (site / "octocat" / "2_years" / "index.html").read_text(encoding="utf-8")
    card = "https://brag.example.org/octocat/2_years/card.svg"
    assert f"[![GitHub contributions of @OctoCat]({card})](https://brag.example.org/octocat/2_years/)" in page
    assert "srcset=&#34;https://brag.example.org/octocat/2_years/card-dark.svg&#34;" in page
    front = (site / "octocat" / "index.html").read_text(encoding="utf-8")
    assert "(https://brag.example.org/octocat/card.svg)" in front


def test_an_unchanged_republish_rewrites_no_card(tmp_path: Path) -> None:
    site = tmp_path / "site"
    Publisher(site).publish_user(reports_for(make_collection()))
    before = {p: p.stat().st_mtime_ns for p in site.rglob("card*.svg")}
    assert len(before) == 2 * (len(reports_for(make_collection())) + 1)
    Publisher(site).publish_user(reports_for(make_collection()))
    assert {p: p.stat().st_mtime_ns for p in site.rglob("card*.svg")} == before
