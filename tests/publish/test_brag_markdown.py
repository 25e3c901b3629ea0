"""The Markdown brag document: valid CommonMark, hostile titles stay text, every link is a pull
request of the report (or the report page), long lists are cut with a count and a link."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from gitbrag.doors.cli import main as report_main
from gitbrag.fakegithub.dataset import HOSTILE_STRINGS
from gitbrag.models import ChangedFile, Report
from gitbrag.publish.markdown import PER_REPOSITORY, brag_markdown, escape
from gitbrag.publish.publisher import Publisher
from gitbrag.report.build import build_report, build_reports
from tests.report.test_report import GENERATED, UNTIL, collection, days_ago, pr, repo

BRIEF_TITLE = "[x](javascript:alert(1)) ![i](http://e/x.png) <img src=x onerror=alert(1)>"
HOSTILE_TITLES = (
    BRIEF_TITLE,
    *HOSTILE_STRINGS,
    "</title><script>document.location='https://evil.example'</script>",
    "{{ 7*7 }} ${7*7} <%= 7*7 %>",
    "*bold* _it_ `code` ~~gone~~ # heading\n- item\n1. one\n> quote\n    indented",
    "see https://evil.example and www.evil.example or mail evil@evil.example",
    "[link][ref]\n\n[ref]: https://evil.example",
    "&lt;b&gt; &amp; &#x3C;script&#x3E; \\*not\\* <https://evil.example>",
    "trailing hard break  ",
    "\u202eevil override\u202c and a zero\u200dwidth joiner",
)
PARSERS = {
    "commonmark": MarkdownIt("commonmark"),
    # GitHub's flavour turns bare URLs into links: nothing of a title may become one.
    "gfm-like": MarkdownIt("gfm-like").enable("linkify"),
}


def inline_tokens(markdown: str, parser: str = "commonmark") -> list[Token]:
    tokens = []
    for block in PARSERS[parser].parse(markdown):
        tokens += [block, *(block.children or [])]
    return tokens


def links(markdown: str, parser: str = "commonmark") -> list[str]:
    return [str(t.attrs["href"]) for t in inline_tokens(markdown, parser) if t.type == "link_open"]


def rendered_text(markdown: str) -> str:
    """The text a reader sees of one line of inline Markdown."""
    return "".join(t.content for t in inline_tokens(markdown) if t.type in ("text", "softbreak"))


# --- escaping -----------------------------------------------------------------------------------


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_a_hostile_title_comes_back_as_its_own_text(title: str) -> None:
    escaped = escape(title)
    expected = " ".join(title.replace("\u202e", "").replace("\u202c", "").split())
    for parser in PARSERS:
        kinds = {t.type for t in inline_tokens(escaped, parser)}
        assert kinds <= {"paragraph_open", "paragraph_close", "inline", "text"}, (parser, kinds)
    assert rendered_text(escaped) == expected
    assert "<" not in escaped and "\n" not in escaped


@given(st.text(alphabet=string.printable + "éü東京🚀\u2028\x00\x07", max_size=80))
def test_any_text_escapes_to_plain_text(text: str) -> None:
    escaped = escape(text)
    kinds = {t.type for t in inline_tokens(escaped)}
    assert kinds <= {"paragraph_open", "paragraph_close", "inline", "text"}
    clean = "".join(" " if c in "\x00\x07\u2028" or c in string.whitespace else c for c in text)
    assert rendered_text(escaped) == " ".join(clean.split())


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("The Octocat (@Mona-Lisa): 1 year", "The Octocat (@Mona-Lisa): 1 year"),
        ("Fix #123: use snake_case in foo.py (v1.2), 50% faster!", None),
        ("C:\\Users\\mona & friends; a > b", None),
        ("- item", "\\- item"),
        ("1. one", "1\\. one"),
        ("### x #", "\\### x \\#"),
        ("see https://evil.example, www.evil.example, evil@evil.example",
         "see https\\://evil.example, www\\.evil.example, evil\\@evil.example"),
        ("*b* _i_ `c` ~~s~~ [l]", "\\*b\\* \\_i\\_ \\`c\\` \\~\\~s\\~\\~ \\[l\\]"),
    ],
)  # fmt: skip
def test_escaping_is_only_where_markdown_needs_it(text: str, raw: str | None) -> None:
    """brag.md is read raw too (pasted, or shown by a browser): a backslash there is visible."""
    assert escape(text) == (text if raw is None else raw)
    assert rendered_text(escape(text)) == text


def test_our_words_are_plain_ascii_and_the_report_page_is_linked_only_absolutely(tmp_path: Path) -> None:
    """Served as `text/markdown` without a charset (python3 -m http.server), a browser decodes
    brag.md as Windows-1252: each U+2212 minus would read "âˆ'". And a relative link to the
    page leads nowhere once the document is pasted into a review."""
    prs = [pr("octo/gamma", n, created=days_ago(n), merged=days_ago(n - 0.5), additions=n, deletions=3)
           for n in range(4, 6 + PER_REPOSITORY)]  # fmt: skip
    # More merged the year before (the first one created before that window): a fall, "-60%".
    prs += [pr("octo/alpha", n, created=days_ago(800 if n == 1 else 700 - n), merged=days_ago(699 - n))
            for n in range(1, 31)]  # fmt: skip
    coll = collection(prs, [repo("octo/gamma", 40), repo("octo/alpha", 3)])
    reports = build_reports(coll, until=UNTIL, generated_at=GENERATED)
    Publisher(tmp_path / "site").publish_user(reports)
    for period in reports:
        text = (tmp_path / "site" / "octocat" / period / "brag.md").read_text(encoding="utf-8")
        assert text.isascii(), [c for c in text if not c.isascii()]
        assert "](index.html)" not in text and "the report page" not in text
        assert "...and 2 more merged pull requests" in text or period != "1_year"
    year = (tmp_path / "site" / "octocat" / "1_year" / "brag.md").read_text(encoding="utf-8")
    assert " -3" in year and "(@OctoCat)" in year
    assert re.search(r"^- -\d+% merged pull requests vs the year before", year, re.MULTILINE), year


# --- the document --------------------------------------------------------------------------------


def hostile_report() -> Report:
    prs = [
        pr("evil/repo", n, created=days_ago(40 - n), merged=days_ago(39 - n), additions=1000 - 10 * n,
           association="FIRST_TIME_CONTRIBUTOR" if n == 1 else "CONTRIBUTOR")
        for n in range(1, 1 + len(HOSTILE_TITLES))
    ]  # fmt: skip
    prs = [p.model_copy(update={"title": t}) for p, t in zip(prs, HOSTILE_TITLES, strict=True)]
    coll = collection(prs, [repo("evil/repo", 12, description=BRIEF_TITLE)])
    coll = coll.model_copy(update={"profile": coll.profile.model_copy(update={"name": BRIEF_TITLE})})
    return build_report(coll, "1_year", until=UNTIL, generated_at=GENERATED)


def pr_urls(report: Report) -> set[str]:
    return {p.url for r in report.repositories for p in r.prs}


@pytest.mark.parametrize("page", [None, "index.html", "https://brag.example.org/octocat/1_year/"])
def test_every_link_is_a_pull_request_of_the_report_or_its_page(page: str | None) -> None:
    report = hostile_report()
    markdown = brag_markdown(report, page_url=page)
    for parser in PARSERS:
        found = links(markdown, parser)
        assert found and set(found) <= pr_urls(report) | ({page} if page else set()), parser
        kinds = {t.type for t in inline_tokens(markdown, parser)}
        assert not kinds & {"image", "html_inline", "html_block", "code_block", "fence"}, kinds
    assert "javascript" not in "".join(links(markdown))
    titles = {p.url: " ".join(p.title.replace("\u202e", "").replace("\u202c", "").split())
              for r in report.repositories for p in r.prs}  # fmt: skip
    shown = link_texts(markdown)
    assert {href: text for href, text in shown.items() if href in titles} == {
        h: titles[h] for h in shown if h in titles
    }
    assert BRIEF_TITLE in shown.values()  # as the text of its own pull request's link


def link_texts(markdown: str) -> dict[str, str]:
    """href -> the text a reader sees in the link (the last one, per href)."""
    texts: dict[str, str] = {}
    href: str | None = None
    for token in inline_tokens(markdown):
        if token.type == "link_open":
            href, texts[str(token.attrs["href"])] = str(token.attrs["href"]), ""
        elif token.type == "link_close":
            href = None
        elif href is not None and token.type == "text":
            texts[href] += token.content
    return texts


def test_the_document_has_the_window_numbers_highlights_and_merged_pull_requests() -> None:
    lockfile = [ChangedFile(path="package-lock.json", additions=20_000, deletions=7_000)]
    prs = [
        pr("octo/alpha", 1, created=days_ago(30), merged=days_ago(29), additions=20_010, deletions=7_001,
           files=[*lockfile, ChangedFile(path="a.py", additions=10, deletions=1)]),
        pr("octo/alpha", 2, created=days_ago(20), merged=days_ago(19), additions=900, deletions=50,
           association="FIRST_TIME_CONTRIBUTOR"),
        pr("octo/beta", 3, created=days_ago(10)),  # open: not in the merged lists
        *(pr("octo/gamma", n, created=days_ago(n), merged=days_ago(n - 0.5), additions=n)
          for n in range(4, 6 + PER_REPOSITORY)),
    ]  # fmt: skip
    coll = collection(prs, [repo("octo/alpha", 900), repo("octo/beta", 5), repo("octo/gamma", 40)])
    report = build_report(coll, "1_year", until=UNTIL, generated_at=GENERATED)
    markdown = brag_markdown(report, page_url="index.html")
    assert markdown.startswith("# The Octocat (@OctoCat): 1 year\n")
    assert "from 12 Mar 2024 to 12 Mar 2025 (UTC)" in markdown
    assert (
        f"- **{report.total_prs} pull requests** ({report.merged_count} merged, 1 open) in **3 repositories**"
        in markdown
    )
    assert "(and +20,000 -7,000 in generated files)" in markdown
    largest = markdown.split("### Largest merged pull requests\n\n")[1].split("\n")[0]
    assert largest == "1. [PR 2](https://github.com/octo/alpha/pull/2) in `octo/alpha`: +900 -50 lines"
    assert "### First-time contributions\n\n- [PR 2](https://github.com/octo/alpha/pull/2)" in markdown
    assert "### Repositories contributed to for the first time" in markdown
    gamma = markdown.split("### `octo/gamma`\n\n")[1].split("\n\n")[1].splitlines()
    assert len(gamma) == PER_REPOSITORY + 1
    assert gamma[-1] == "- ...and 2 more merged pull requests on [the report page](index.html)"
    assert "### `octo/beta`" not in markdown  # no merged pull request there


def test_reviews_and_the_previous_period_are_in_the_numbers() -> None:
    from gitbrag.models import ReviewContribution

    prs = [pr("octo/alpha", 1, created=days_ago(800), merged=days_ago(499)),  # first: before both windows
           pr("octo/alpha", 2, created=days_ago(100), merged=days_ago(99)),
           pr("octo/alpha", 3, created=days_ago(90), merged=days_ago(89))]  # fmt: skip
    given_reviews = [ReviewContribution(repo="octo/beta", number=9, occurred_at=days_ago(5))]
    coll = collection(prs).model_copy(update={"reviews": given_reviews, "reviews_collected_at": UNTIL})
    markdown = brag_markdown(build_report(coll, "1_year", until=UNTIL, generated_at=GENERATED))
    assert "- **1 pull request reviewed** in 1 repository" in markdown
    assert "- +100% merged pull requests vs the year before (2, was 1)" in markdown
    assert "- 1 review, none in the year before" in markdown


def test_each_period_publishes_its_brag_md_and_its_page_links_to_it(tmp_path: Path) -> None:
    report = hostile_report()
    publisher = Publisher(tmp_path / "site", base_url="https://brag.example.org/")
    reports = build_reports(
        collection([pr("evil/repo", 1, created=datetime(2024, 5, 1, tzinfo=UTC))]),
        until=UNTIL,
        generated_at=GENERATED,
    )
    publisher.publish_user(reports | {"1_year": report})
    for period in reports:
        assert (tmp_path / "site" / "octocat" / period / "brag.md").is_file()
    text = (tmp_path / "site" / "octocat" / "1_year" / "brag.md").read_text(encoding="utf-8")
    assert text == brag_markdown(report, page_url="https://brag.example.org/octocat/1_year/")
    page = (tmp_path / "site" / "octocat" / "1_year" / "index.html").read_text(encoding="utf-8")
    assert '<a href="brag.md">Brag document</a>' in page
    assert '<a href="1_year/brag.md">' in (tmp_path / "site" / "octocat" / "index.html").read_text()


def test_the_report_command_prints_the_same_document(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """`gitbrag report USER --period P --format markdown` is brag.md (without the site's page link)."""
    monkeypatch.chdir(tmp_path)
    year = str((datetime.now(UTC) - timedelta(days=366)).year)
    assert report_main(["report", "hostile-hank", "--demo", "--period", year, "--json"]) == 0
    report = Report.model_validate_json(capsys.readouterr().out)
    assert report.period == year
    assert report_main(["report", "hostile-hank", "--demo", "--period", year, "--format", "markdown"]) == 0
    printed = capsys.readouterr().out
    assert printed == brag_markdown(report)
    assert set(links(printed, "gfm-like")) <= pr_urls(report)
    with pytest.raises(SystemExit) as refused:  # argparse's refusal: usage, one error line, exit 2
        report_main(["report", "hostile-hank", "--period", "2025-Q5"])
    assert refused.value.code == 2 and "'2025-Q5' is not a period" in capsys.readouterr().err
