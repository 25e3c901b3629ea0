"""The fake's REST endpoints: GitHub's documented response shapes over the records.

Handlers are plain functions from a request to an `ApiResponse` (status, JSON body,
extra headers); the app wraps them with what every GitHub response shares (auth, rate
limits, ETags, faults). Field names, nesting and JSON types follow GitHub's REST docs,
because the point of the fake is that a client passing against it passes against
GitHub. `url` fields point back at the fake itself (so a client may follow them);
`html_url`s point at github.com, as the published reports link there.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import URL
from starlette.requests import Request

from gitbrag.fakegithub.access import FULL_ACCESS, SAML_DOCS, SAML_MESSAGE, Access, sso_header
from gitbrag.fakegithub.budget import RateSnapshot
from gitbrag.fakegithub.dataset import iso
from gitbrag.fakegithub.records import Dataset, FakeFile, FakePull, FakeRepo, FakeStar, FakeUser
from gitbrag.fakegithub.search import SearchQueryError, SearchResult, search_issues

Json = dict[str, Any]

HTML_BASE = "https://github.com"
AVATAR_BASE = "https://avatars.githubusercontent.com"
DOCS = "https://docs.github.com/rest"
SEARCH_CAP = 1000  # GitHub serves only the first 1,000 results of any search
FILES_CAP = 3000  # "Responses include a maximum of 3000 files" (list pull request files)
STARGAZER_PAGE_CAP = 400  # stargazers: pages past 400 are refused with 422
PAGINATION_LIMITED = (
    "In order to keep the API fast for everyone, pagination is limited for this resource. "
    "Check the rel=last link relation in the Link response header to see how far back you can traverse."
)
STAR_MEDIA_TYPE = "application/vnd.github.star+json"
_REPO_LINKS = (
    "forks", "teams", "hooks", "events", "tags", "languages", "stargazers", "contributors",
    "subscribers", "subscription", "merges", "downloads", "deployments",
)  # fmt: skip
# URI templates GitHub's repository object also carries (its OpenAPI schema requires them all).
_REPO_TEMPLATES = {
    "archive": "/{archive_format}{/ref}", "assignees": "/assignees{/user}", "blobs": "/git/blobs{/sha}",
    "collaborators": "/collaborators{/collaborator}", "comments": "/comments{/number}",
    "compare": "/compare/{base}...{head}", "contents": "/contents/{+path}",
    "git_commits": "/git/commits{/sha}", "git_refs": "/git/refs{/sha}", "git_tags": "/git/tags{/sha}",
    "issue_comment": "/issues/comments{/number}", "issue_events": "/issues/events{/number}",
    "keys": "/keys{/key_id}", "milestones": "/milestones{/number}",
    "notifications": "/notifications{?since,all,participating}", "statuses": "/statuses/{sha}",
    "trees": "/git/trees{/sha}",
}  # fmt: skip


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    hold_s: float = 0.0  # sit on the answer this long first (a GraphQL query timing out)
    raw: bytes | None = None  # a non-JSON body (a gateway's HTML error page), sent as `media_type`
    media_type: str | None = None


def error(status: int, message: str, docs: str = DOCS, **extra: Any) -> ApiResponse:
    """GitHub's error body: message, documentation_url and the status as a string."""
    return ApiResponse(
        status, {"message": message, **extra, "documentation_url": docs, "status": str(status)}
    )


def not_found(docs: str = DOCS) -> ApiResponse:
    return error(404, "Not Found", docs)


# A search's query, sort, order, the dataset's size, the caller's access and the index's lag.
_SearchKey = tuple[str, str | None, str, int, Access, datetime | None]


class RestApi:
    """The REST handlers over one dataset; `invalidate()` after mutating it (drops cached searches)."""

    def __init__(self, dataset: Dataset) -> None:
        self.ds = dataset
        self._searches: OrderedDict[_SearchKey, SearchResult] = OrderedDict()
        self._users: dict[tuple[str, str], Json] = {}

    def invalidate(self) -> None:
        self._searches.clear()
        self._users.clear()

    # --- endpoints ------------------------------------------------------------------

    def get_user(self, request: Request) -> ApiResponse:
        u = self.ds.user(request.path_params["username"])
        if u is None:
            return not_found(f"{DOCS}/users/users#get-a-user")
        return ApiResponse(200, self.full_user(request, u))

    def social_accounts(self, request: Request) -> ApiResponse:
        u = self.ds.user(request.path_params["username"])
        if u is None:
            return not_found(f"{DOCS}/users/social-accounts#list-social-accounts-for-a-user")
        accounts = [{"provider": s.provider, "url": s.url} for s in u.social_accounts]
        return paginated(request, accounts)

    def public_members(self, request: Request) -> ApiResponse:
        """`GET /orgs/{org}/public_members`: public members only, whoever asks (a member's token
        too), as Simple Users, in joining order; 404 for a user or an unknown organization."""
        org = self.ds.user(request.path_params["org"])
        if org is None or org.type != "Organization":
            return not_found(f"{DOCS}/orgs/members#list-public-organization-members")
        members = self.ds.public_members(org.login)
        return paginated(request, members, lambda m: dict(self.simple_user(request, m.login)))

    def get_repo(self, request: Request) -> ApiResponse:
        r = self._repo(request, f"{DOCS}/repos/repos#get-a-repository")
        if isinstance(r, ApiResponse):
            return r
        return ApiResponse(200, self.repo(request, r))

    def get_pull(self, request: Request) -> ApiResponse:
        p = self._pull(request, f"{DOCS}/pulls/pulls#get-a-pull-request")
        if isinstance(p, ApiResponse):
            return p
        return ApiResponse(200, self.pull(request, p))

    def pull_files(self, request: Request) -> ApiResponse:
        """At most FILES_CAP files, as on GitHub: later pages are empty and `Link` stops at the cap,
        while the pull's `changed_files` keeps the true count."""
        p = self._pull(request, f"{DOCS}/pulls/pulls#list-pull-requests-files")
        if isinstance(p, ApiResponse):
            return p
        return paginated(request, p.files[:FILES_CAP], lambda f: self.file(request, p, f))

    def stargazers(self, request: Request) -> ApiResponse:
        """GitHub refuses stargazer pages past STARGAZER_PAGE_CAP (422) and never links beyond it,
        so a REST client cannot list every star of a very popular repository."""
        docs = f"{DOCS}/activity/starring#list-stargazers"
        r = self._repo(request, docs)
        if isinstance(r, ApiResponse):
            return r
        page, _ = page_params(request)
        if page > STARGAZER_PAGE_CAP:
            body = {
                "message": PAGINATION_LIMITED,
                "documentation_url": "https://docs.github.com/v3/#pagination",
            }
            return ApiResponse(422, body)
        if STAR_MEDIA_TYPE in request.headers.get("accept", ""):
            return paginated(request, r.stars, lambda s: self.star(request, s), STARGAZER_PAGE_CAP)
        return paginated(request, r.stars, lambda s: self.simple_user(request, s.login), STARGAZER_PAGE_CAP)

    def search_issues(self, request: Request) -> ApiResponse:
        docs = f"{DOCS}/search/search#search-issues-and-pull-requests"
        params = request.query_params
        q = params.get("q", "")
        if not q.strip():
            return error(
                422,
                "Validation Failed",
                docs,
                errors=[{"resource": "Search", "field": "q", "code": "missing"}],
            )
        sort = params.get("sort") or None
        order = params.get("order") or "desc"
        try:
            indexed_at = getattr(request.state, "search_indexed_at", None)
            result = self._search(q, sort, order, request_access(request), indexed_at)
        except SearchQueryError as exc:
            problem = {"message": str(exc), "resource": "Search", "field": "q", "code": "invalid"}
            return error(422, "Validation Failed", docs, errors=[problem])
        page, per_page = page_params(request)
        if (page - 1) * per_page >= SEARCH_CAP:
            return error(422, "Only the first 1000 search results are available", docs)
        reachable = result.items[:SEARCH_CAP]
        start = (page - 1) * per_page
        body = {
            "total_count": result.total_count,
            "incomplete_results": result.incomplete_results,
            "search_type": "lexical",  # GitHub's plain keyword search (the other values are opt-in)
            "items": [self.search_item(request, p) for p in reachable[start : start + per_page]],
        }
        return ApiResponse(200, body, link_header(request, page, per_page, len(reachable)))

    # --- objects ----------------------------------------------------------------------

    def simple_user(self, request: Request, login: str) -> Json:
        """Memoised: a search page repeats the same author a hundred times. Callers copy, never mutate."""
        key = (str(request.base_url), login.lower())
        cached = self._users.get(key)
        if cached is None:
            cached = self._users[key] = self._simple_user(request, login)
        return cached

    def _simple_user(self, request: Request, login: str) -> Json:
        u = self.ds.user(login)
        if u is not None:
            login = u.login
        uid = u.id if u else account_id(login)
        kind = u.type if u else "User"
        api = f"{api_base(request)}/users/{login}"
        return {
            "login": login,
            "id": uid,
            "node_id": node_id("04:User" if kind == "User" else "012:Organization", uid),
            "avatar_url": f"{AVATAR_BASE}/u/{uid}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{HTML_BASE}/{login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }

    def full_user(self, request: Request, u: FakeUser) -> Json:
        owned = sum(1 for r in self.ds.repos.values() if r.owner.lower() == u.login.lower() and not r.private)
        return {
            **self.simple_user(request, u.login),
            "name": u.name,
            "company": u.company,
            "blog": u.blog,
            "location": u.location,
            "email": None,
            "hireable": None,
            "bio": u.bio,
            "twitter_username": u.twitter_username,
            "public_repos": owned,
            "public_gists": u.id % 7,
            "followers": u.id % 997,
            "following": u.id % 89,
            "created_at": iso(u.created_at),
            "updated_at": iso(u.updated_at),
        }

    def repo(self, request: Request, r: FakeRepo) -> Json:
        api = f"{api_base(request)}/repos/{r.full_name}"
        html = f"{HTML_BASE}/{r.full_name}"
        open_issues = r.id % 40
        return {
            "id": r.id,
            "node_id": node_id("010:Repository", r.id),
            "name": r.name,
            "full_name": r.full_name,
            "private": r.private,
            "owner": self.simple_user(request, r.owner),
            "html_url": html,
            "description": r.description,
            "fork": r.fork,
            "url": api,
            **{f"{k}_url": f"{api}/{k}" for k in _REPO_LINKS},
            **{f"{k}_url": f"{api}/{k}{{/{a}}}" for k, a in (("branches", "branch"), ("commits", "sha"),
                                                              ("issues", "number"), ("pulls", "number"),
                                                              ("labels", "name"), ("releases", "id"))},
            **{f"{k}_url": f"{api}{template}" for k, template in _REPO_TEMPLATES.items()},
            "mirror_url": None,
            "created_at": iso(r.created_at),
            "updated_at": iso(r.updated_at),
            "pushed_at": iso(r.pushed_at),
            "git_url": f"git://github.com/{r.full_name}.git",
            "ssh_url": f"git@github.com:{r.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": r.id % 50_000,
            "stargazers_count": r.stargazers_count,
            "watchers_count": r.stargazers_count,
            "language": r.language,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": r.stargazers_count // 10,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "topics": [],
            "visibility": "private" if r.private else "public",
            "forks": r.stargazers_count // 10,
            "open_issues": open_issues,
            "watchers": r.stargazers_count,
            "default_branch": "main",
            "network_count": r.stargazers_count // 10,
            "subscribers_count": r.stargazers_count // 20,
        }  # fmt: skip

    def pull(self, request: Request, p: FakePull) -> Json:
        api = f"{api_base(request)}/repos/{p.repo}"
        r = self.ds.repo(p.repo)
        repo_json = self.repo(request, r) if r else None
        owner = p.repo.split("/", 1)[0]
        branch = f"patch-{p.number}"
        return {
            **self._issue_fields(request, p),
            "url": f"{api}/pulls/{p.number}",
            "html_url": f"{HTML_BASE}/{p.repo}/pull/{p.number}",
            "diff_url": f"{HTML_BASE}/{p.repo}/pull/{p.number}.diff",
            "patch_url": f"{HTML_BASE}/{p.repo}/pull/{p.number}.patch",
            "issue_url": f"{api}/issues/{p.number}",
            "node_id": node_id("011:PullRequest", p.id),
            "merged_at": iso(p.merged_at),
            "merge_commit_sha": sha(p, "merge") if p.merged else None,
            "requested_reviewers": [],
            "requested_teams": [],
            "commits_url": f"{api}/pulls/{p.number}/commits",
            "comments_url": f"{api}/issues/{p.number}/comments",
            "comments": p.id % 5,
            "review_comments_url": f"{api}/pulls/{p.number}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "statuses_url": f"{api}/statuses/{sha(p, 'head')}",
            "head": {"label": f"{p.author}:{branch}", "ref": branch, "sha": sha(p, "head"),
                     "user": self.simple_user(request, p.author), "repo": repo_json},
            "base": {"label": f"{owner}:main", "ref": "main", "sha": sha(p, "base"),
                     "user": self.simple_user(request, owner), "repo": repo_json},
            "_links": {
                "self": {"href": f"{api}/pulls/{p.number}"},
                "html": {"href": f"{HTML_BASE}/{p.repo}/pull/{p.number}"},
                "issue": {"href": f"{api}/issues/{p.number}"},
                "comments": {"href": f"{api}/issues/{p.number}/comments"},
                "review_comments": {"href": f"{api}/pulls/{p.number}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{api}/pulls/{p.number}/commits"},
                "statuses": {"href": f"{api}/statuses/{sha(p, 'head')}"},
            },
            "auto_merge": None,
            "merged": p.merged,
            "mergeable": None if p.state == "closed" else True,
            "rebaseable": None if p.state == "closed" else True,
            "mergeable_state": "unknown" if p.state == "closed" else "clean",
            "merged_by": self.simple_user(request, owner) if p.merged else None,
            "review_comments": p.id % 5,
            "maintainer_can_modify": False,
            "commits": 1 + p.id % 9,
            "additions": p.additions,
            "deletions": p.deletions,
            "changed_files": p.changed_files,
        }  # fmt: skip

    def search_item(self, request: Request, p: FakePull) -> Json:
        api = f"{api_base(request)}/repos/{p.repo}"
        html = f"{HTML_BASE}/{p.repo}/pull/{p.number}"
        item = {
            **self._issue_fields(request, p),
            "url": f"{api}/issues/{p.number}",
            "repository_url": api,
            "labels_url": f"{api}/issues/{p.number}/labels{{/name}}",
            "comments_url": f"{api}/issues/{p.number}/comments",
            "events_url": f"{api}/issues/{p.number}/events",
            "html_url": html,
            "node_id": node_id("011:PullRequest", p.id),
            "comments": p.id % 5,
            "pull_request": {
                "url": f"{api}/pulls/{p.number}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": iso(p.merged_at),
            },
            "timeline_url": f"{api}/issues/{p.number}/timeline",
            "performed_via_github_app": None,
            "state_reason": None,
            "score": 1.0,
        }
        if p.body is None:  # GitHub's schema types a search item's body as a string, never null: omit it
            del item["body"]
        return item

    def _issue_fields(self, request: Request, p: FakePull) -> Json:
        """Fields issues and pulls share."""
        return {
            "id": p.id,
            "number": p.number,
            "title": p.title,
            "user": self.simple_user(request, p.author),
            "labels": [],
            "state": p.state,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "created_at": iso(p.created_at),
            "updated_at": iso(p.updated_at),
            "closed_at": iso(p.closed_at),
            "author_association": p.author_association,
            "active_lock_reason": None,
            "draft": p.draft,
            "body": p.body,
        }

    def file(self, request: Request, p: FakePull, f: FakeFile) -> Json:
        blob_sha = hashlib.sha1(f"{p.id}:{f.filename}".encode()).hexdigest()
        head = sha(p, "head")
        return {
            "sha": blob_sha,
            "filename": f.filename,
            "status": f.status,
            "additions": f.additions,
            "deletions": f.deletions,
            "changes": f.changes,
            "blob_url": f"{HTML_BASE}/{p.repo}/blob/{head}/{f.filename}",
            "raw_url": f"{HTML_BASE}/{p.repo}/raw/{head}/{f.filename}",
            "contents_url": f"{api_base(request)}/repos/{p.repo}/contents/{f.filename}?ref={head}",
        }

    def star(self, request: Request, s: FakeStar) -> Json:
        return {"starred_at": iso(s.starred_at), "user": self.simple_user(request, s.login)}

    # --- lookups ----------------------------------------------------------------------

    def _repo(self, request: Request, docs: str) -> FakeRepo | ApiResponse:
        """The route's repository as this caller may reach it: a private one it cannot see is 404
        (GitHub does not confirm it exists), a SAML-protected one is 403 with `X-GitHub-SSO`."""
        r = self.ds.repo(f"{request.path_params['owner']}/{request.path_params['repo']}")
        access = request_access(request)
        if r is None or not access.sees(r):
            return not_found(docs)
        if access.saml_blocked(self.ds, r):
            refusal = error(403, SAML_MESSAGE, SAML_DOCS)
            refusal.headers.update(sso_header(r.owner))
            return refusal
        return r

    def _pull(self, request: Request, docs: str) -> FakePull | ApiResponse:
        r = self._repo(request, docs)
        if isinstance(r, ApiResponse):
            return r
        p = self.ds.pull(r.full_name, request.path_params["number"])
        return not_found(docs) if p is None else p

    def _search(
        self, q: str, sort: str | None, order: str, access: Access, indexed_at: datetime | None = None
    ) -> SearchResult:
        """Clients page through the same query: keep the last few results."""
        # PRs added straight to the dataset show up too; a lagging index moves on each second.
        key = (q, sort, order, len(self.ds.pulls), access, indexed_at)
        if key in self._searches:
            self._searches.move_to_end(key)
            return self._searches[key]
        result = self._searches[key] = search_issues(self.ds, q, sort, order, access, indexed_at)
        if len(self._searches) > 32:
            self._searches.popitem(last=False)
        return result


def request_access(request: Request) -> Access:
    """The caller's access, set by the app's pipeline (full access for direct, non-HTTP callers)."""
    access = getattr(request.state, "access", None)
    return access if isinstance(access, Access) else FULL_ACCESS


def rate_limit_body(snaps: dict[str, RateSnapshot]) -> Json:
    """`GET /rate_limit`: every resource's budget, and `rate` (= core, deprecated but still sent)."""
    resources = {
        name: {
            "limit": s.limit,
            "used": s.used,
            "remaining": s.remaining,
            "reset": int(s.reset_at.timestamp()),
        }
        for name, s in snaps.items()
    }
    return {"resources": resources, "rate": resources["core"]}


# --- pagination -------------------------------------------------------------------------


def page_params(request: Request) -> tuple[int, int]:
    """(page, per_page) as GitHub reads them: per_page defaults to 30, at most 100."""
    return _int(request.query_params.get("page"), 1, 1, 10**9), _int(
        request.query_params.get("per_page"), 30, 1, 100
    )


def _int(raw: str | None, default: int, lo: int, hi: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    return min(max(value, lo), hi)


def paginated(
    request: Request,
    items: Sequence[Any],
    render: Callable[[Any], Json] | None = None,
    max_page: int | None = None,
) -> ApiResponse:
    page, per_page = page_params(request)
    start = (page - 1) * per_page
    chunk = items[start : start + per_page]
    body = [render(x) for x in chunk] if render else chunk
    return ApiResponse(200, body, link_header(request, page, per_page, len(items), max_page))


def link_header(
    request: Request, page: int, per_page: int, total: int, max_page: int | None = None
) -> dict[str, str]:
    """GitHub's `Link` header: prev/next/last/first as they apply (none for a single page);
    `max_page` is where a resource with limited pagination stops linking."""
    last = max((total + per_page - 1) // per_page, 1)
    if max_page is not None:
        last = min(last, max_page)
    if last == 1 and page == 1:
        return {}
    rels: list[tuple[str, int]] = []
    if page > 1:
        rels.append(("prev", min(page - 1, last)))
    if page < last:
        rels += [("next", page + 1), ("last", last)]
    if page > 1:
        rels.append(("first", 1))
    return {"link": ", ".join(f'<{_page_url(request.url, n)}>; rel="{rel}"' for rel, n in rels)}


def _page_url(url: URL, page: int) -> str:
    query = [(k, v) for k, v in parse_qsl(url.query, keep_blank_values=True) if k != "page"]
    return str(url.replace(query=urlencode([*query, ("page", str(page))])))


# --- identifiers ------------------------------------------------------------------------


def api_base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def node_id(prefix: str, number: int) -> str:
    """GitHub's legacy global node ids: base64 of `04:User583231` and friends."""
    return base64.b64encode(f"{prefix}{number}".encode()).decode()


def account_id(login: str) -> int:
    """A stable id for accounts the dataset only names (stargazers)."""
    return 200_000_000 + zlib.crc32(login.lower().encode())


def sha(p: FakePull, what: str) -> str:
    return hashlib.sha1(f"{p.id}:{what}".encode()).hexdigest()
