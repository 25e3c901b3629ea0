"""The report page as a person preparing a review reads it (issue 30): repositories ordered by
what the person did, each opening to its largest few pull requests with the rest one click
away in a `<details>`; the embed snippet says when it cannot work outside the site; the demo
has a team and lockfile changes. Published from made-up collections: fast, no browser (the
browser's view of the demo is `test_site_browser`)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from gitbrag.doors.runtime import demo_github
from gitbrag.fakegithub import dataset as demo_data
from gitbrag.publish.publisher import Publisher
from gitbrag.report.build import build_reports
from gitbrag.report.languages import is_generated
from gitbrag.settings import Settings
from tests.report.test_report import GENERATED, UNTIL, collection, days_ago, pr, repo


def publish(
    tmp_path: Path, prs: list, repos: list | None = None, stars: dict | None = None, **kw: object
) -> str:
    reports = build_reports(collection(prs, repos, stars), until=UNTIL, generated_at=GENERATED)
    Publisher(tmp_path / "site", **kw).publish_user(reports)  # type: ignore[arg-type]
    return (tmp_path / "site" / "octocat" / "1_year" / "index.html").read_text(encoding="utf-8")


def repo_order(page: str) -> list[str]:
    return re.findall(r'<h3 class="repo-name">([^<]+)</h3>', page)


def test_repositories_lead_with_merged_work_not_with_the_stars_they_gained(tmp_path: Path) -> None:
    """A repository that gained thousands of stars from one small pull request comes after
    the ones where the person merged the most (then wrote the most lines)."""
    starry = [days_ago(d) for d in range(1, 300)]
    prs = [pr("big/stars", 1, merged=days_ago(5), additions=3, deletions=0)]
    prs += [pr("octo/core", n, merged=days_ago(10 + n), additions=40) for n in range(2, 6)]
    prs += [pr("octo/tools", n, merged=days_ago(20 + n), additions=900) for n in range(6, 8)]
    prs += [pr("octo/docs", n, merged=days_ago(30 + n), additions=5) for n in range(8, 10)]
    repos = [repo("big/stars", 9000), repo("octo/core"), repo("octo/tools"), repo("octo/docs")]
    page = publish(tmp_path, prs, repos, {"big/stars": starry})
    assert repo_order(page) == ["octo/core", "octo/tools", "octo/docs", "big/stars"]
    assert 'data-stars="299"' in page  # the stars stay: a column, and a sort the reader may pick


def test_a_repository_shows_its_largest_few_and_the_rest_inside_details(tmp_path: Path) -> None:
    sizes = [5, 700, 12, 3000, 40, 90, 1]
    prs = [
        pr("octo/core", n, created=days_ago(n + 1), merged=days_ago(n), additions=size)
        for n, size in enumerate(sizes, start=1)
    ]
    page = publish(tmp_path, prs)
    card = page.split('<details class="card repo"')[1].split('<details class="embed card">')[0]
    first, _, rest = card.partition('<details class="show-all">')
    assert re.findall(r"#(\d+)</span>", first) == ["4", "2", "6"]  # the largest three, largest first
    assert "<summary>Show all 7 pull requests</summary>" in rest
    assert re.findall(r"#(\d+)</span>", rest) == ["1", "3", "5", "7"]  # the others, newest first
    assert (
        " open>" in page.split('<details class="card repo"')[1].split("\n")[0]
    )  # the first repository is open


def test_zero_deletions_are_not_a_minus_zero(tmp_path: Path) -> None:
    page = publish(tmp_path, [pr("octo/core", 1, merged=days_ago(3), additions=12, deletions=0)])
    assert "&minus;0" not in page and "−0<" not in page


def test_without_a_base_url_the_embed_snippet_says_it_needs_one(tmp_path: Path) -> None:
    prs = [pr("octo/core", 1, merged=days_ago(3))]
    page = publish(tmp_path / "a", prs)
    assert "data-needs-base-url" in page and "GITBRAG_BASE_URL" in page.split('class="embed card"')[1]
    # Paths from the site's address, never from the server's root: under a path prefix
    # (GitHub Pages' /REPO/) "/octocat/..." is another site's. The note says what to add.
    assert "[![GitHub contributions of @OctoCat](octocat/card.svg)](octocat/)" in page
    assert not any(root in page for root in ('="/octocat', "(/octocat", "&#34;/octocat"))
    page = publish(tmp_path / "b", prs, base_url="https://brag.example.org/")
    assert "data-needs-base-url" not in page
    assert "[![GitHub contributions of @OctoCat](https://brag.example.org/octocat/card.svg)]" in page
    assert 'data-copy="snippet-md-text"' in page and "hidden>Copy</button>" in page  # shown by the script


def test_the_demo_has_a_team_and_pull_requests_with_generated_files(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, site_dir=tmp_path / "site")  # type: ignore[call-arg]
    with demo_github(settings) as (demo, users):
        assert demo.teams == {"platform": ["Mona-Lisa", "prolific-pat", "steady-sam"]}
        assert set(demo.teams["platform"]) <= set(users)
    chosen = Settings(_env_file=None, site_dir=tmp_path / "site", teams="web=zero-zoe")  # type: ignore[call-arg]
    with demo_github(chosen) as (demo, _):
        assert demo.teams == {"web": ["zero-zoe"]}  # GITBRAG_TEAMS wins
    dataset = demo_data.build_dataset()
    year_ago = dataset.anchor - timedelta(days=365)
    for login in ("Mona-Lisa", "prolific-pat"):
        recent = [p for p in dataset.pulls if p.author == login and p.merged_at and p.created_at > year_ago]
        assert any(is_generated(f.filename) for p in recent for f in p.files), login
