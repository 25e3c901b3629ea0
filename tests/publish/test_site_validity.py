"""The published demo site is valid: every HTML page passes the Nu Html Checker (vnu), the
stylesheet passes its CSS check, and the feeds and sitemap are well-formed XML.

vnu comes from the `vnu-jar` npm package (package.json) and runs on the machine's Java;
`.ci/run` installs both. Missing tools fail the test with what to install, never skip it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from gitbrag.publish.publisher import Publisher
from tests.support import DEMO_USERS, clean_env, refresh

ROOT = Path(__file__).parents[2]
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
BASE_URL = "https://brag.example.org/"


def vnu_command() -> list[str]:
    java = shutil.which("java")
    if java is None:
        pytest.fail("java is missing: install a Java runtime (apt-get install default-jre-headless)")
    if not VNU_JAR.is_file():
        pytest.fail(f"{VNU_JAR.relative_to(ROOT)} is missing: run `npm ci --ignore-scripts` in {ROOT}")
    # C1-only JIT halves the run for a short-lived checker; it needs a bigger stack then.
    jvm = ["-Xss16m", "-XX:TieredStopAtLevel=1"]
    return [java, *jvm, "-jar", str(VNU_JAR), "--errors-only", "--format", "json"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo site as an operator publishes it, with every optional feature switched on,
    and one user's pages caught mid-refresh (the "updating" notice)."""
    work = tmp_path_factory.mktemp("validity")
    env = clean_env(
        GITBRAG_BASE_URL=BASE_URL,
        GITBRAG_HOOK_PUBLIC_URL="https://hook.example.org",
        GITBRAG_TEAMS="platform=Mona-Lisa,prolific-pat;web=hostile-hank,zero-zoe,ghost-gus",  # team pages too
    )
    result = refresh(work, "--demo", "--site-dir", str(work / "site"), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    Publisher(work / "site").set_updating("steady-sam", True)
    return work / "site"


def test_every_page_passes_the_nu_html_checker(site: Path) -> None:
    command = vnu_command()
    pages = sorted(site.rglob("*.html"))
    # index, 404, and per user a front page and four period pages, plus list pages
    assert len(pages) >= 2 + 5 * len(DEMO_USERS)
    assert list(site.glob("*/*/repos/*/*/index.html")), "no repository page in the demo to check"
    # The "Updating" label is in every report page (hidden until generated.json says so).
    assert 'data-updating-notice role="status"' in (site / "steady-sam" / "index.html").read_text()
    stylesheets = sorted((site / "assets").glob("*.css"))
    result = subprocess.run(
        [*command, "--also-check-css", *map(str, pages), *map(str, stylesheets)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    messages = json.loads(result.stderr or result.stdout)["messages"]
    problems = [
        f"{m.get('url', '?').rpartition(str(site))[2]}:{m.get('lastLine', '?')}: {m['message']}"
        for m in messages
        if m["type"] in ("error", "non-document-error")
    ]
    assert problems == [], "\n".join(problems[:40])


def test_feeds_and_sitemap_are_well_formed_xml(site: Path) -> None:
    atom = "{http://www.w3.org/2005/Atom}"
    for login in DEMO_USERS:
        feed = ElementTree.parse(site / login.lower() / "feed.xml").getroot()
        assert feed.tag == f"{atom}feed"
        assert feed.findtext(f"{atom}id") == f"{BASE_URL}{login.lower()}/feed.xml"
        for entry in feed.findall(f"{atom}entry"):
            assert entry.findtext(f"{atom}id") and entry.findtext(f"{atom}updated")
    hostile = ElementTree.parse(site / "hostile-hank" / "feed.xml").getroot()
    titles = [e.findtext(f"{atom}title") or "" for e in hostile.findall(f"{atom}entry")]
    assert any('<script>alert("x")</script>' in t for t in titles)  # text, escaped in the XML
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    index = ElementTree.parse(site / "sitemap.xml").getroot()
    assert index.tag == f"{ns}sitemapindex"
    locs: set[str | None] = set()
    for listed in index:
        chunk = (listed.findtext(f"{ns}loc") or "").removeprefix(BASE_URL)
        locs |= {u.findtext(f"{ns}loc") for u in ElementTree.parse(site / chunk).getroot()}
    assert {BASE_URL, f"{BASE_URL}mona-lisa/", f"{BASE_URL}mona-lisa/all_time/"} <= locs
    assert f"Sitemap: {BASE_URL}sitemap.xml" in (site / "robots.txt").read_text()
