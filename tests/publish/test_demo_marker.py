"""A demo's pages are marked (issue 27): every report.json `gitbrag-refresh --demo` publishes says
`"demo": true`, and the site's users read back (`Publisher.published_logins`, what a store that
lost its state tracks again and what the index falls back to) are only the pages of the reader's
own kind. A real report.json is byte for byte what it was before the marker existed.

The whole story, a demo run then a real run as processes, is in tests/doors/test_operating.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from gitbrag.models import Login
from gitbrag.publish.publisher import Publisher
from tests.publish.test_publish import make_collection, reports_for


def test_demo_pages_are_never_a_real_sites_users_nor_the_reverse(tmp_path: Path) -> None:
    site = tmp_path / "site"
    Publisher(site, demo=True).publish_user(reports_for(make_collection("Mona-Lisa")))
    Publisher(site).publish_user(reports_for(make_collection("OctoCat")))
    for path in (site / "mona-lisa").glob("*/report.json"):
        assert json.loads(path.read_bytes())["demo"] is True, path
    for path in (site / "octocat").glob("*/report.json"):
        assert "demo" not in json.loads(path.read_bytes()), path
    assert Publisher(site).published_logins() == ["octocat"]
    assert Publisher(site, demo=True).published_logins() == ["mona-lisa"]
    # Read back as a report, the marker is kept (a demo page stays the demo's when republished).
    report = Publisher(site, demo=True).read_report(Login("mona-lisa"), "1_year")
    assert report is not None and report.demo


def test_a_real_report_json_is_unchanged_by_the_marker(tmp_path: Path) -> None:
    reports = reports_for(make_collection("OctoCat"))
    Publisher(tmp_path / "site").publish_user(reports)
    written = (tmp_path / "site" / "octocat" / "1_year" / "report.json").read_bytes()
    assert b'"demo"' not in written
    assert written == reports["1_year"].model_dump_json().encode() + b"\n"
