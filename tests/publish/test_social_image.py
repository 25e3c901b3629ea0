"""The link preview: each user's `social.png` (their past year) is a 1200×630 PNG under 300 KB,
referenced by every report page's `og:image` with its size and type, and drawn only when what
it shows changes; periods have no image of their own (issue 29: one image a user)."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from gitbrag.models import Profile
from gitbrag.publish import socialimage
from gitbrag.publish.cards import Headline
from gitbrag.publish.publisher import Publisher
from tests.publish.test_cards import hostile_profile
from tests.publish.test_publish import make_collection, make_pr, reports_for


def meta(page: str, prop: str) -> str:
    found = re.search(rf'<meta property="{re.escape(prop)}" content="([^"]*)">', page)
    assert found, prop
    return found.group(1)


def test_the_image_is_a_1200_by_630_png_under_300_kb_carrying_its_inputs_hash() -> None:
    headline = Headline.from_report(
        reports_for(make_collection("hostile-hank", profile=hostile_profile()))["1_year"]
    )
    png = socialimage.render(headline)
    assert len(png) < 300_000
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (1200, 630)
        # Something is drawn: the numbers and name in light text on the dark background.
        colors = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colors is not None and len(colors) > 50
    assert socialimage.embedded_hash(png) == socialimage.inputs_hash(headline)
    assert socialimage.embedded_hash(b"not a png") is None


def test_every_report_page_names_the_users_one_image_with_size_and_type(tmp_path: Path) -> None:
    site = tmp_path / "site"
    reports = reports_for(make_collection())
    Publisher(site).publish_user(reports)
    png = site / "octocat" / "social.png"
    with Image.open(png) as image:
        assert image.size == (1200, 630)
    assert png.stat().st_size < 60_000  # a palette PNG (it was ~40 KB as RGB, one a period)
    assert socialimage.embedded_hash(png.read_bytes()) == socialimage.inputs_hash(
        Headline.from_report(reports["1_year"])
    )  # the past year's numbers, as the front page and the card
    for period in reports:
        assert not (site / "octocat" / period / "social.png").exists()
        page = (site / "octocat" / period / "index.html").read_text(encoding="utf-8")
        assert meta(page, "og:image") == "../social.png"
        assert (meta(page, "og:image:width"), meta(page, "og:image:height")) == ("1200", "630")
        assert meta(page, "og:image:type") == "image/png"
    front = (site / "octocat" / "index.html").read_text(encoding="utf-8")
    assert meta(front, "og:image") == "social.png"
    assert 'name="twitter:card" content="summary_large_image"' in front


def test_the_image_address_is_absolute_with_a_base_url(tmp_path: Path) -> None:
    site = tmp_path / "site"
    Publisher(site, base_url="https://brag.example.org").publish_user(reports_for(make_collection()))
    front = (site / "octocat" / "index.html").read_text(encoding="utf-8")
    assert meta(front, "og:image") == "https://brag.example.org/octocat/social.png"
    page = (site / "octocat" / "2_years" / "index.html").read_text(encoding="utf-8")
    assert meta(page, "og:image") == "https://brag.example.org/octocat/social.png"


def test_an_image_is_drawn_again_only_when_its_numbers_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    drawn: list[str] = []
    real = socialimage.render

    def counting(headline: Headline) -> bytes:
        drawn.append(headline.period_label)
        return real(headline)

    monkeypatch.setattr(socialimage, "render", counting)
    reports = reports_for(make_collection())
    Publisher(site).publish_user(reports)
    assert drawn == ["1 year"]  # one image a user, not one a period
    drawn.clear()
    Publisher(site).publish_user(reports_for(make_collection()))  # the same numbers
    assert drawn == []
    pull = "https://github.com/octo/hello-world/pull/"
    more = make_collection(
        prs=[make_pr(1, "Add the thing", pull + "1", 10), make_pr(3, "More", pull + "3", 20)]
    )
    changed = reports_for(more)
    Publisher(site).publish_user(changed)
    assert drawn == ["1 year"]  # the past year's numbers moved
    # A damaged image on the site is drawn again, whatever it claims.
    (site / "octocat" / "social.png").write_bytes(b"\x89PNG broken")
    drawn.clear()
    Publisher(site).publish_user(changed)
    assert drawn == ["1 year"]


def test_a_long_name_is_cut_to_fit_inside_the_margin() -> None:
    profile = Profile(login="wide", name="W" * 60)
    headline = Headline.from_report(reports_for(make_collection("wide", profile=profile))["1_year"])
    with Image.open(io.BytesIO(socialimage.render(headline))) as image:
        margin = image.convert("RGB").crop((1125, 70, 1200, 210))  # right of the name and login
        assert margin.getcolors() == [(75 * 140, (13, 17, 23))], "text spills into the right margin"


def test_a_number_that_draws_the_same_keeps_the_image() -> None:
    """A star more near a big repository leaves "+11.3k" as it was: the published image
    is kept (not drawn and encoded again); a figure drawn differently draws it anew."""
    headline = Headline.from_report(reports_for(make_collection())["1_year"])
    drawn = replace(headline, stars=11_331)
    assert socialimage.inputs_hash(replace(drawn, stars=11_332)) == socialimage.inputs_hash(drawn)
    assert socialimage.inputs_hash(replace(drawn, stars=11_351)) != socialimage.inputs_hash(drawn)
    assert socialimage.inputs_hash(replace(drawn, stars=None)) != socialimage.inputs_hash(drawn)
    assert socialimage.inputs_hash(replace(drawn, name="Other")) != socialimage.inputs_hash(drawn)
