"""Work a report cannot list: pull requests in private repositories (`private_mode`), pull
requests GitHub hid (`hidden_by_github`) and pull requests with more files than GitHub lists.

The builder is checked on hand-built collections; the site is checked by what a reader (or
a crawler reading every file) would find on it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from gitbrag.doors.terminal import print_report
from gitbrag.models import (
    PERIODS,
    ChangedFile,
    Collection,
    HiddenNodes,
    PrivateMode,
    PrivateWork,
    PullRequest,
    Report,
    Repository,
    StarHistory,
)
from gitbrag.publish.publisher import IndexEntry, Publisher
from gitbrag.report.build import build_report, build_reports
from tests.publish.test_publish import make_collection, make_pr, parse
from tests.report.test_report import GENERATED, UNTIL, collection, days_ago, pr, repo

# --- the builder -------------------------------------------------------------------


def private_repo(name: str, stars: int = 0) -> Repository:
    return repo(name, stars).model_copy(update={"private": True})


def change(repo_name: str, number: int, path: str, additions: int, deletions: int, **kw: Any) -> PullRequest:
    """A PR whose files GitHub listed in full (one file here, `path`)."""
    made = pr(
        repo_name, number, files=[ChangedFile(path=path, additions=additions, deletions=deletions)], **kw
    )
    return made.model_copy(update={"additions": additions, "deletions": deletions})


def public_prs() -> list[PullRequest]:
    return [
        change("octo/alpha", 1, "a.py", 10, 5, merged=days_ago(5)),
        change("octo/alpha", 2, "b.py", 3, 0, created=days_ago(30)),
    ]


def private_prs() -> list[PullRequest]:
    return [
        # merged in the window, huge, in another language and with another role
        change("secret/vault", 10, "src/vault.rs", 4500, 2000, merged=days_ago(3), association="OWNER"),
        change("secret/vault", 11, "src/keys.rs", 7, 1, created=days_ago(12)),  # open
        change("secret/vault", 12, "x.rs", 1, 1, created=days_ago(20), state="CLOSED"),  # never counted
        change("secret/vault", 13, "y.rs", 1, 1, created=days_ago(500), merged=days_ago(480)),  # too old
        # the PR spells the repository differently from its entry: still private
        change("Secret/Other", 20, "z.rs", 100, 50, merged=days_ago(40)),
    ]


def mixed(mode: PrivateMode, prs: list[PullRequest] | None = None) -> Collection:
    """Public and private work side by side, the private repositories with stars gained in
    the window (so a leak would show in the star increase too)."""
    built = collection(
        public_prs() + (private_prs() if prs is None else prs),
        repos=[repo("octo/alpha", 10), private_repo("secret/vault", 300), private_repo("secret/other", 5)],
        stars={"octo/alpha": [days_ago(2)], "secret/vault": [days_ago(d) for d in range(1, 40)]},
    )
    return built.model_copy(update={"private_mode": mode})


def public_only() -> Collection:
    return collection(public_prs(), repos=[repo("octo/alpha", 10)], stars={"octo/alpha": [days_ago(2)]})


def one_year(c: Collection) -> Report:
    return build_report(c, "1_year", until=UNTIL, generated_at=GENERATED)


def test_counts_mode_keeps_private_work_out_of_every_public_number_and_counts_it_apart() -> None:
    report = one_year(mixed("counts"))
    # Every public field is exactly what it would be had the private PRs never existed.
    assert report.model_dump(exclude={"private_work"}) == one_year(public_only()).model_dump(
        exclude={"private_work"}
    )
    assert report.total_prs == 2 and [r.name for r in report.repositories] == ["octo/alpha"]
    assert [share.language for share in report.languages] == ["Python"]
    assert report.private_work == PrivateWork(
        total_prs=3,  # #10, #11 and Other#20: not the closed one, nor the one before the window
        merged_count=2,
        open_count=1,
        repo_count=2,
        total_additions=4500 + 7 + 100,
        total_deletions=2000 + 1 + 50,
    )


def test_counts_mode_applies_the_window_to_private_work_per_period() -> None:
    reports = build_reports(mixed("counts"), until=UNTIL, generated_at=GENERATED)
    assert reports["1_year"].private_work is not None and reports["1_year"].private_work.total_prs == 3
    assert reports["2_years"].private_work is not None and reports["2_years"].private_work.total_prs == 4


def test_counts_mode_without_private_work_says_zero_not_nothing() -> None:
    assert one_year(mixed("counts", prs=[])).private_work == PrivateWork(
        total_prs=0, merged_count=0, open_count=0, repo_count=0, total_additions=0, total_deletions=0
    )


def test_off_mode_drops_private_work_even_when_the_collection_has_some() -> None:
    report = one_year(mixed("off"))
    assert report.private_work is None
    assert report == one_year(public_only())


def test_full_mode_counts_private_work_like_public_work() -> None:
    report = one_year(mixed("full"))
    assert report.private_work is None
    assert report.total_prs == 5
    assert {r.name.lower() for r in report.repositories} == {"octo/alpha", "secret/vault", "secret/other"}
    assert report.languages[0].language == "Rust"
    assert report.total_star_increase == 1 + 39
    assert report.roles == {"CONTRIBUTOR": 2, "OWNER": 1}


def test_a_pull_request_whose_repository_is_unknown_counts_as_public() -> None:
    stray = pr("elsewhere/repo", 7, merged=days_ago(4))
    c = collection([stray], repos=[]).model_copy(update={"private_mode": "counts"})
    report = one_year(c)
    assert report.total_prs == 1
    assert report.private_work is not None and report.private_work.total_prs == 0


def test_hidden_pull_requests_are_told_in_every_period() -> None:
    hidden = [HiddenNodes(reason="saml", count=4), HiddenNodes(reason="forbidden", count=2)]
    c = public_only().model_copy(update={"hidden_by_github": hidden})
    reports = build_reports(c, until=UNTIL, generated_at=GENERATED)
    assert [reports[p].hidden_by_github for p in PERIODS] == [hidden] * len(PERIODS)
    assert one_year(public_only()).hidden_by_github == []


def capped_pr(repo_name: str, number: int, merged_days_ago: int) -> PullRequest:
    """A PR of 4,212 files of which GitHub listed its limit, 3,000."""
    files = [ChangedFile(path=f"gen/f{i}.go", additions=1, deletions=0) for i in range(3000)]
    made = pr(
        repo_name,
        number,
        created=days_ago(merged_days_ago + 1),
        merged=days_ago(merged_days_ago),
        files=files,
    )
    return made.model_copy(update={"changed_files": 4212})


def test_capped_pull_requests_are_counted_per_period_and_on_the_public_side_only() -> None:
    prs = [capped_pr("octo/alpha", 5, 10), capped_pr("octo/alpha", 6, 600), capped_pr("secret/vault", 30, 10)]
    reports = build_reports(mixed("counts", prs=prs), until=UNTIL, generated_at=GENERATED)
    assert reports["1_year"].prs_with_capped_files == 1
    assert reports["2_years"].prs_with_capped_files == 2
    # Listed files are all there is for the other PRs: nothing to note.
    assert one_year(public_only()).prs_with_capped_files == 0


# --- the site ---------------------------------------------------------------------------

# Names a private repository could have, and that must appear in no file of the site.
SECRET_OWNER = "zq-hushcorp"
SECRET_REPO = "vault-xk93"
SECRET_TITLE = "Rotate the qq7731 launch keys"
SECRET_DESCRIPTION = "Internal hush-hush qq8842 tooling"
SECRETS = (SECRET_OWNER, SECRET_REPO, "qq7731", "qq8842", "launch keys")


def secret_pr(number: int, days_ago_: int, merged: bool = True) -> PullRequest:
    url = f"https://github.com/{SECRET_OWNER}/{SECRET_REPO}/pull/{number}"
    made = make_pr(number, f"{SECRET_TITLE} {number}", url, days_ago_, merged=merged)
    return made.model_copy(update={"repo": f"{SECRET_OWNER}/{SECRET_REPO}"})


def collection_with_secrets(mode: PrivateMode, *, public: bool = True) -> Collection:
    base = make_collection() if public else make_collection(prs=[])
    name = f"{SECRET_OWNER}/{SECRET_REPO}"
    secret = Repository(
        name_with_owner=name,
        url=f"https://github.com/{name}",
        description=SECRET_DESCRIPTION,
        stargazer_count=77,
        primary_language="Rust",
        private=True,
    )
    prs = [secret_pr(100 + i, 2 + 3 * i, merged=i != 3) for i in range(4)] + [secret_pr(200, 900)]
    return base.model_copy(
        update={
            "private_mode": mode,
            "pull_requests": base.pull_requests + prs,
            "repositories": base.repositories | {name: secret},
            "stars": base.stars
            | {
                name: StarHistory(
                    repo=name, since=UNTIL - timedelta(days=4000), starred_at=[days_ago(1), days_ago(2)]
                )
            },
        }
    )


def publish(site: Path, c: Collection) -> None:
    """Everything a refresh writes, with a base URL so the sitemap is written too."""
    publisher = Publisher(site, base_url="https://brag.example.org/")
    reports = build_reports(c, until=UNTIL, generated_at=GENERATED)
    publisher.publish_user(reports)
    publisher.publish_index([IndexEntry.from_report(reports["1_year"])])
    publisher.publish_static()


def page_text(path: Path) -> str:
    return " ".join(" ".join(parse(path).text).split())


def test_counts_mode_names_no_private_repository_title_or_link_in_any_file(tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish(site, collection_with_secrets("counts"))
    files = [p for p in site.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {".html", ".json", ".xml", ".css", ".js", ".txt"} <= kinds
    assert (site / "sitemap.xml").is_file() and (site / "octocat" / "feed.xml").is_file()
    for path in files:
        # The social images are binary (their text chunk is a hash; what they draw is the
        # card's `Headline`: numbers, name, login, languages, never a repository).
        raw = path.read_bytes()
        data = (raw.decode("latin-1") if path.suffix == ".png" else raw.decode("utf-8")).lower()
        for secret in SECRETS:
            assert secret.lower() not in data, f"{secret!r} in {path.relative_to(site)}"
    text = page_text(site / "octocat" / "1_year" / "index.html")
    assert "Also 4 pull requests (3 merged) in 1 private repository." in text
    assert "Also 5 pull requests (4 merged) in 1 private repository." in page_text(
        site / "octocat" / "all_time" / "index.html"
    )


def test_the_same_collection_in_full_mode_does_show_them(tmp_path: Path) -> None:
    """The scan above would find the secrets if they were published: this proves it can."""
    site = tmp_path / "site"
    publish(site, collection_with_secrets("full"))
    text = page_text(site / "octocat" / "1_year" / "index.html")
    assert f"{SECRET_OWNER}/{SECRET_REPO}" in text and SECRET_TITLE in text
    assert "private repositor" not in text
    assert SECRET_TITLE in (site / "octocat" / "feed.xml").read_text(encoding="utf-8")


def test_private_work_shows_on_an_otherwise_empty_report(tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish(site, collection_with_secrets("counts", public=False))
    text = page_text(site / "octocat" / "1_year" / "index.html")
    assert "No pull requests in this period" in text
    assert "Also 4 pull requests (3 merged) in 1 private repository." in text


@pytest.mark.parametrize("mode", ["off", "counts"])
def test_without_private_work_to_show_nothing_is_said_of_private_repositories(
    tmp_path: Path, mode: PrivateMode
) -> None:
    """Off: the private PRs are dropped; counts without private PRs: "Also 0" would be noise."""
    site = tmp_path / "site"
    c = (
        collection_with_secrets("off")
        if mode == "off"
        else make_collection().model_copy(update={"private_mode": "counts"})
    )
    publish(site, c)
    text = page_text(site / "octocat" / "1_year" / "index.html")
    assert "private repositor" not in text and SECRET_TITLE not in text
    assert "Add the thing" in text


@pytest.mark.parametrize(
    ("hidden", "sentence"),
    [
        (
            [HiddenNodes(reason="saml", count=4), HiddenNodes(reason="forbidden", count=2)],
            "GitHub hid 6 pull requests from this report. 4 are in organisations that enforce SAML single "
            "sign-on, which the token used is not authorised for. "
            "GitHub did not let the token see the other 2.",
        ),
        (
            [HiddenNodes(reason="saml", count=5), HiddenNodes(reason="saml", count=1)],
            "GitHub hid 6 pull requests from this report: they are in organisations that enforce SAML single "
            "sign-on, which the token used is not authorised for.",
        ),
        (
            [HiddenNodes(reason="saml", count=1)],
            "GitHub hid 1 pull request from this report: it is in an organisation that enforces SAML single "
            "sign-on, which the token used is not authorised for.",
        ),
        (
            [HiddenNodes(reason="forbidden", count=3)],
            "GitHub hid 3 pull requests from this report: GitHub did not let the token see them.",
        ),
    ],
)
def test_hidden_notice_says_how_many_and_why_on_every_period(
    tmp_path: Path, hidden: list[HiddenNodes], sentence: str
) -> None:
    site = tmp_path / "site"
    publish(site, make_collection().model_copy(update={"hidden_by_github": hidden}))
    for page in ["index.html", *(f"{p}/index.html" for p in PERIODS)]:
        assert sentence in page_text(site / "octocat" / page), page


def test_capped_note_sits_with_the_languages_only_when_a_pr_was_capped(tmp_path: Path) -> None:
    big = make_pr(3, "Vendor everything", "https://github.com/octo/hello-world/pull/3", 20)
    listed = [ChangedFile(path=f"v/{i}.c", additions=1, deletions=0) for i in range(3000)]
    big = big.model_copy(update={"changed_files": 4212, "files": listed})
    site = tmp_path / "site"
    base = make_collection()
    publish(site, base.model_copy(update={"pull_requests": [*base.pull_requests, big]}))
    note = "Languages of 1 pull request come from its first 3,000 changed files (GitHub lists no more)."
    html = (site / "octocat" / "1_year" / "index.html").read_text(encoding="utf-8")
    languages_card = html[html.index('id="languages-heading"') : html.index('id="sizes-heading"')]
    assert note in languages_card
    plain = tmp_path / "plain"
    publish(plain, make_collection())
    text = page_text(plain / "octocat" / "1_year" / "index.html")
    assert "GitHub lists no more" not in text and "GitHub hid" not in text


def test_terminal_report_shows_the_same_three_facts() -> None:
    c = mixed("counts", prs=[*private_prs(), capped_pr("octo/alpha", 5, 10)]).model_copy(
        update={"hidden_by_github": [HiddenNodes(reason="forbidden", count=2)]}
    )
    console = Console(record=True, width=200, color_system=None)
    print_report(one_year(c), console)
    out = console.export_text()
    assert "Also 3 pull requests (2 merged) in 2 private repositories." in out
    assert "GitHub hid 2 pull requests from this report: GitHub did not let the token see them." in out
    assert "Languages of 1 pull request come from its first 3,000 changed files" in out
    assert "vault" not in out.lower()
