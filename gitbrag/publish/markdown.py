"""The brag document: a report as Markdown, ready to paste into a review or a promotion case.

`brag_markdown(report)` is `site/<login>/<period>/brag.md` and what
`gitbrag report USER --period P --format markdown` prints: the window and the headline
numbers, how they compare with the period before, highlights (the largest merged pull
requests by authored lines, repositories contributed to for the first time, first-time
contributions, the most-starred repositories), then per repository a bullet per merged pull
request, largest first, a long list cut with a count and a link to the report page.

It reads right wherever it is opened: as raw text (a browser showing `brag.md` from a server that
names no charset, an editor, a review form), and rendered. So gitbrag's own words are plain ASCII
where a character has an ASCII form (`-`, not U+2212; `...`, not U+2026: served as
`text/markdown` without a charset, a browser decodes the file as Windows-1252 and shows each
as `â` and two more characters), and escaping is only where CommonMark, or GitHub's autolinks,
would otherwise read something as markup: `@Mona-Lisa` stays as typed.

Everything GitHub controls (titles, names) goes through `escape`, so it reads as the text it
is in any CommonMark renderer, GitHub's included: a backslash goes before what would open a
link, an image, emphasis, a code span, strikethrough or, at the start, a block (`#`, `>`, `-`,
`+`, `1.`); `<` becomes `&lt;` (no HTML, whatever the renderer's
escaping rules); what GitHub would autolink (`https://`, `www.`, `a@b.c`) is broken up by a
backslash; line breaks and control characters become spaces (a title is one line; a newline
could start a block), and runs of spaces collapse (four of them would make a code block, two
at the end a line break). The only links are the report's pull request URLs (absolute
http(s), GitHub's own) and, with GITBRAG_BASE_URL, the report page: a relative link would
break once the document is pasted elsewhere. Repository names are code spans.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote

from gitbrag.models import Report, ReportPR, ReportRepository
from gitbrag.periods import parse_period
from gitbrag.publish.filters import count, format_date, safe_url
from gitbrag.report.timeline import changes

ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# Escaped wherever they are: they open emphasis, code spans, links, strikethrough.
_ALWAYS = frozenset("*`[]~")
# What starts a block at the beginning of a line (a list item's text is one), and the character
# escaped: a heading's "#", a quote's ">", a list's "-", "+" or "1." (a thematic break is "---").
_BLOCK_START = re.compile(r"^(?:#{1,6}(?=\s|$)|>|[-+](?=\s|$|-)|\d{1,9}[.)](?=\s|$))")
# A heading's closing sequence ("### name #"), which a renderer drops: its first "#" is escaped.
_CLOSING_HASHES = re.compile(r"(?:^|\s)(#+)$")
# What GitHub turns into a link, and the character whose escape stops it: the scheme's ":"
# (`https://`), the dot after "www", an e-mail's "@".
_AUTOLINK = re.compile(r"(?<=[A-Za-z])(:)(?=//)|(?<![\w.-])(?i:www)(\.)|(?<=[\w.+-])(@)(?=[\w-]+\.)")
# An entity or character reference (`&amp;`, `&#60;`): its "&" is escaped, any other stays.
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")

# Bidirectional overrides and isolates: they make text read differently from what it is.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_RELATIVE_PAGE = re.compile(r"^(?:\.\./)*[A-Za-z0-9_-][A-Za-z0-9_./-]*$")  # no scheme, no "//"
# What may stay raw in a link destination: RFC 3986 minus what CommonMark gives a meaning
# there (parentheses, angle brackets, backslash, spaces) and brackets.
_URL_SAFE = "/:?#@!$&'*+,;=%-._~"

MINUS = "\u2212"  # what the page writes before a fall ("−12%"); brag.md writes "-"
EN_DASH = "\u2013"  # between a custom period's dates on the page
HIGHLIGHTS = 5  # largest merged pull requests, most-starred repositories
FIRSTS = 10  # first contributions listed
PER_REPOSITORY = 10  # merged pull requests listed per repository before the list is cut
REPOSITORIES = 40  # repositories listed, as the report page shows cards


def escape(text: str) -> str:
    """`text` as CommonMark inline content that renders exactly as `text` (see the module),
    with as few backslashes as that takes: a reader of the raw document sees each one."""
    cleaned: list[str] = []
    for char in text:
        if char in _BIDI_CONTROLS:
            continue
        cleaned.append(" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char)
    plain = " ".join("".join(cleaned).split())
    marked = _marks(plain)
    out: list[str] = []
    for index, char in enumerate(plain):
        if char == "<":  # never HTML, whatever a renderer's own escaping rules
            out.append("&lt;")
            continue
        if index in marked or _needs_backslash(plain, index):
            out.append("\\")
        out.append(char)
    return "".join(out)


def _marks(text: str) -> set[int]:
    """Positions that need a backslash by what surrounds them (block starts, autolinks, entities,
    a closing `#` run) rather than by what they are."""
    marked: set[int] = set()
    if start := _BLOCK_START.match(text):
        marked.add(start.start() if text[0] == "#" else start.end() - 1)
    for found in _AUTOLINK.finditer(text):
        marked.add(next(found.start(g) for g in (1, 2, 3) if found.group(g)))
    marked.update(found.start() for found in _ENTITY.finditer(text))
    if closing := _CLOSING_HASHES.search(text):
        marked.add(closing.start(1))
    return marked


def _needs_backslash(text: str, index: int) -> bool:
    char = text[index]
    if char in _ALWAYS:
        return True
    if char == "_":  # within a word (snake_case) it never opens emphasis
        before = text[index - 1] if index else " "
        after = text[index + 1] if index + 1 < len(text) else " "
        return not (before.isalnum() and after.isalnum())
    if char == "\\":  # before punctuation or at the end (then before our own markup) it escapes
        return index + 1 == len(text) or text[index + 1] in ASCII_PUNCTUATION
    return False


def destination(url: str) -> str | None:
    """A link destination for an absolute http(s) URL, percent-encoded so nothing in it can end
    it early; None for anything else (the text is then shown without a link)."""
    checked = safe_url(url)
    return quote(checked, safe=_URL_SAFE) if checked else None


def link(text: str, url: str | None) -> str:
    """`[text](url)` with `text` escaped; the escaped text alone when the URL is not http(s)."""
    target = destination(url) if url else None
    label = escape(text) or escape(url or "")
    return f"[{label}]({target})" if target else label


def page_link(text: str, url: str) -> str:
    """A link to the report page: an absolute http(s) URL, or a plain relative path
    ("index.html", beside brag.md on the site); the text alone for anything else."""
    if _RELATIVE_PAGE.fullmatch(url):
        return f"[{escape(text)}]({url})"
    return link(text, url)


def repository_name(name: str) -> str:
    """A repository as a code span (never a link, whatever a renderer autolinks); escaped text
    for a name that is not GitHub's shape."""
    return f"`{name}`" if _REPO_NAME.fullmatch(name) else escape(name)


def _lines(pr: ReportPR) -> str:
    return f"+{pr.authored_additions:,} -{pr.authored_deletions:,}"


def _authored(pr: ReportPR) -> int:
    return pr.authored_additions + pr.authored_deletions


def _merged(report: Report) -> list[tuple[ReportRepository, ReportPR]]:
    return [(repo, pr) for repo in report.repositories for pr in repo.prs if pr.state == "merged"]


# --- sections ---------------------------------------------------------------------------------


def _title(report: Report) -> list[str]:
    who = escape(report.profile.name or report.username)
    period = parse_period(report.period)
    label = period.label.replace(EN_DASH, "-")  # "Mar 1 - Aug 31, 2025"
    return [f"# {who} (@{escape(report.username)}): {escape(label)}", ""]


def _window(report: Report, page_url: str | None) -> list[str]:
    zone = report.timezone
    until = format_date(report.until, zone)
    if report.period == "all_time":
        text = f"Pull requests created or merged up to {until} ({zone})"
    else:
        text = f"Pull requests created or merged from {format_date(report.since, zone)} to {until} ({zone})"
    text += ", as GitHub shows them; closed pull requests that were never merged are not counted."
    lines = [text, ""]
    if page_url:
        lines += [f"The whole report: {page_link('the report page', page_url)}.", ""]
    return lines


def _numbers(report: Report) -> list[str]:
    lines = [
        "## In numbers",
        "",
        f"- **{count(report.total_prs, 'pull request')}** ({report.merged_count:,} merged, "
        f"{report.open_count:,} open) in **{count(report.repo_count, 'repository', 'repositories')}**",
        f"- **+{report.authored_additions:,} -{report.authored_deletions:,} lines** written"
        + _generated(report),
    ]
    if report.reviews is not None:
        reviewed = count(report.reviews.total, "pull request")
        where = count(len(report.reviews.repositories), "repository", "repositories")
        lines.append(f"- **{reviewed} reviewed** in {where}")
    if report.total_star_increase is not None:
        verb = "stars in total" if report.period == "all_time" else "stars gained"
        lines.append(f"- **{report.total_star_increase:,}** {verb} by the repositories contributed to")
    elif report.stars_pending:
        lines.append("- Repository stars: stars still being counted")
    elif report.stars_unavailable:
        lines.append("- Repository stars gained: not available (stargazers are for admins and collaborators)")
    # Our words and numbers only; the page's typographic minus as the ASCII one.
    lines += [f"- {change.text.replace(MINUS, '-')}" for change in changes(report)]
    return [*lines, ""]


def _generated(report: Report) -> str:
    if not (report.generated_additions or report.generated_deletions):
        return ""
    return f" (and +{report.generated_additions:,} -{report.generated_deletions:,} in generated files)"


def _highlights(report: Report) -> list[str]:
    sections = [
        ("Largest merged pull requests", _largest(report)),
        ("Repositories contributed to for the first time", _new_repositories(report)),
        ("First-time contributions", _first_times(report)),
        ("Most-starred repositories", _most_starred(report)),
    ]
    lines: list[str] = []
    for heading, items in sections:
        if items:
            lines += [f"### {heading}", "", *items, ""]
    return ["## Highlights", "", *lines] if lines else []


def _largest(report: Report) -> list[str]:
    ranked = sorted(_merged(report), key=lambda rp: (-_authored(rp[1]), rp[1].url))[:HIGHLIGHTS]
    return [
        f"{i}. {link(pr.title, pr.url)} in {repository_name(repo.name)}: {_lines(pr)} lines"
        for i, (repo, pr) in enumerate(ranked, start=1)
    ]


def _new_repositories(report: Report) -> list[str]:
    new = [r for r in report.repositories if report.since <= r.first_contribution_at <= report.until]
    new.sort(key=lambda r: (r.first_contribution_at, r.name))
    items = []
    for repo in new[:FIRSTS]:
        first = min(repo.prs, key=lambda p: (p.created_at, p.number))
        since = format_date(repo.first_contribution_at, report.timezone)
        items.append(f"- {repository_name(repo.name)}, from {since}: {link(first.title, first.url)}")
    return _cut(items, len(new))


def _first_times(report: Report) -> list[str]:
    firsts = sorted(
        ((repo, pr) for repo in report.repositories for pr in repo.prs if pr.first_time),
        key=lambda rp: (rp[1].created_at, rp[1].url),
    )
    zone = report.timezone
    items = [
        f"- {link(pr.title, pr.url)} in {repository_name(repo.name)} ({format_date(pr.created_at, zone)})"
        for repo, pr in firsts[:FIRSTS]
    ]
    return _cut(items, len(firsts))


def _cut(items: list[str], total: int) -> list[str]:
    return items if total <= len(items) else [*items, f"- ...and {total - len(items):,} more"]


def _most_starred(report: Report) -> list[str]:
    ranked = sorted(report.repositories, key=lambda r: (-r.stars, r.name))[:HIGHLIGHTS]
    return [
        f"- {repository_name(r.name)}: {count(r.stars, 'star')}, {count(r.pr_count, 'pull request')}"
        for r in ranked
        if r.stars > 0
    ]


def _repositories(report: Report, page_url: str | None) -> list[str]:
    with_merges = [r for r in report.repositories if r.merged_count > 0]
    with_merges.sort(key=lambda r: (-r.merged_count, r.name))
    lines = ["## Merged pull requests by repository", ""] if with_merges else []
    for repo in with_merges[:REPOSITORIES]:
        lines += [f"### {repository_name(repo.name)}", "", _repository_line(repo), ""]
        merged = sorted((p for p in repo.prs if p.state == "merged"), key=lambda p: (-_authored(p), p.url))
        lines += [f"- {link(pr.title, pr.url)}: {_lines(pr)}" for pr in merged[:PER_REPOSITORY]]
        if len(merged) > PER_REPOSITORY:
            rest = len(merged) - PER_REPOSITORY
            lines.append(f"- ...and {_more(rest, 'more merged pull request', page_url)}")
        lines.append("")
    rest = len(with_merges) - REPOSITORIES
    if rest > 0:
        lines += [f"...and {_more(rest, 'more repository', page_url, 'more repositories')}", ""]
    return lines


def _repository_line(repo: ReportRepository) -> str:
    facts = [f"{count(repo.pr_count, 'pull request')} ({repo.merged_count:,} merged)"]
    facts.append(count(repo.stars, "star"))
    if repo.star_increase is not None and repo.star_increase > 0:
        facts.append(f"+{repo.star_increase:,} in the period")
    elif repo.stars_unavailable:
        facts.append("stars gained not available")
    return ", ".join(facts) + "."


def _more(n: int, singular: str, page_url: str | None, plural: str | None = None) -> str:
    what = count(n, singular, plural)
    return f"{what} on {page_link('the report page', page_url)}" if page_url else what


def brag_markdown(report: Report, *, page_url: str | None = None) -> str:
    """The report as a Markdown brag document; `page_url` (the report page, absolute, or relative
    to the document where it cannot leave the site) is linked where lists are cut."""
    sections: Iterable[list[str]] = (
        _title(report),
        _window(report, page_url),
        _numbers(report),
        _highlights(report),
        _repositories(report, page_url),
    )
    lines = [line for section in sections for line in section]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"
