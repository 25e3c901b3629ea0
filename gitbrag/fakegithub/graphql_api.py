"""The fake GitHub's GraphQL endpoint (`POST /graphql`), executed by graphql-core.

A request goes through the same gates as on GitHub, in the same order: parse and
validate against `schema.graphql`; compute the query's cost and node count from the
document alone (GitHub's documented calculation, before anything runs); charge the
cost to the caller's budget; then execute. Errors come back in GitHub's shape,
including the `type` key (NOT_FOUND, RATE_LIMITED, MISSING_PAGINATION_BOUNDARIES,
...) that clients branch on, which plain GraphQL errors don't have.

Who may see what (`access.py`) is one `_Scope` handed to every node: private
repositories the caller cannot see are NOT_FOUND and absent from search, and nodes
of an organization enforcing SAML the token is not authorised for resolve to null
with GitHub's FORBIDDEN `saml_failure` error beside the data, exactly where GitHub
puts it (the nearest nullable field: a search result, the `repository` root field).

Resolution uses graphql-core's default resolver: each GraphQL object type is a small
adapter class below whose attribute names are the GraphQL field names, so the
mapping from GitHub's schema to the fake's records is read in one place per type.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import math
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    VariableNode,
    build_schema,
    execute_sync,
    get_named_type,
    parse,
    validate,
)
from graphql.utilities import get_operation_ast

from gitbrag.fakegithub import keyset
from gitbrag.fakegithub.access import FULL_ACCESS, SAML_MESSAGE, STARGAZERS_REFUSED_MESSAGE, Access
from gitbrag.fakegithub.budget import RateLimitExceeded, RateSnapshot
from gitbrag.fakegithub.records import (
    Dataset,
    FakeFile,
    FakePull,
    FakeRepo,
    FakeSocialAccount,
    FakeUser,
)
from gitbrag.fakegithub.rest import account_id  # same ids for stargazers as REST
from gitbrag.fakegithub.search import SearchQueryError, UnknownSearchTargetError, search_issues

T = TypeVar("T")
Json = dict[str, Any]

HTML_BASE = "https://github.com"
AVATAR_BASE = "https://avatars.githubusercontent.com"
PAGE_LIMIT = 100  # GitHub's bound on `first`/`last`
NODE_LIMIT = 500_000  # GitHub's bound on the nodes one query may request
SEARCH_CAP = 1_000  # results a search can reach, whatever its issueCount
FILES_CAP = 3_000  # files a pull request lists, as REST's "maximum of 3000 files"
RESOURCE_LIMITS_MESSAGE = "Resource limits for this query exceeded."

# The authenticated user behind every token: the fake does not model accounts.
VIEWER = FakeUser(
    id=9_000_001,
    login="gitbrag-viewer",
    name="Fake GitHub viewer",
    bio=None,
    company=None,
    location=None,
    blog="",
    twitter_username=None,
    created_at=datetime(2010, 1, 1, tzinfo=UTC),
    updated_at=datetime(2010, 1, 1, tzinfo=UTC),
)

_LANGUAGE_COLORS = {
    "C": "#555555",
    "C#": "#178600",
    "C++": "#f34b7d",
    "CSS": "#563d7c",
    "Go": "#00ADD8",
    "HTML": "#e34c26",
    "Java": "#b07219",
    "JavaScript": "#f1e05a",
    "Kotlin": "#A97BFF",
    "PHP": "#4F5D95",
    "Python": "#3572A5",
    "Ruby": "#701516",
    "Rust": "#dea584",
    "Shell": "#89e051",
    "Swift": "#F05138",
    "TypeScript": "#3178c6",
}
_PATCH_STATUS = {
    "added": "ADDED",
    "removed": "DELETED",
    "modified": "MODIFIED",
    "renamed": "RENAMED",
    "copied": "COPIED",
    "changed": "CHANGED",
    "unchanged": "MODIFIED",
}
_SOCIAL_PROVIDERS = {
    "FACEBOOK",
    "GENERIC",
    "HOMETOWN",
    "INSTAGRAM",
    "LINKEDIN",
    "MASTODON",
    "NPM",
    "REDDIT",
    "TWITCH",
    "TWITTER",
    "YOUTUBE",
}
_CURSOR = re.compile(r"^cursor:(\d+)$")


class GitHubGraphQLError(Exception):
    """An error GitHub reports with a `type` beside the message (NOT_FOUND, ...)."""

    def __init__(self, error_type: str, message: str, extensions: Json | None = None) -> None:
        super().__init__(message)
        self.type = error_type
        self.extensions = extensions


def saml_error() -> GitHubGraphQLError:
    """GitHub's answer for an org's node when the token lacks SAML authorisation for the org."""
    return GitHubGraphQLError("FORBIDDEN", SAML_MESSAGE, {"saml_failure": True})


def stargazers_refused_error() -> GitHubGraphQLError:
    """GitHub's answer for a field the token may not read (`saml_failure: false`): since its
    2026-06-30 changelog, a repository's stargazers are for its admins and collaborators."""
    return GitHubGraphQLError("FORBIDDEN", STARGAZERS_REFUSED_MESSAGE, {"saml_failure": False})


def rate_limit_error(legacy: bool = False) -> Json:
    """A spent GraphQL budget: today's `RATE_LIMIT` + `code` shape, or the older `RATE_LIMITED`."""
    if legacy:
        return {"type": "RATE_LIMITED", "message": f"API rate limit exceeded for user ID {VIEWER.id}."}
    message = f"API rate limit already exceeded for user ID {VIEWER.id}."
    return {"type": "RATE_LIMIT", "code": "graphql_rate_limit", "message": message}


@dataclass(frozen=True)
class ExecutionOptions:
    """How one request may execute: what its token sees, and whether it runs out of resources
    part-way (GitHub's RESOURCE_LIMITS_EXCEEDED: later search results lose their `files`)."""

    access: Access = FULL_ACCESS
    resource_limited: bool = False
    search_indexed_at: datetime | None = None  # a lagging search index: see `search_issues`


# --- entry point --------------------------------------------------------------------


def execute_graphql(
    dataset: Dataset,
    payload: object,
    charge: Callable[[int], RateSnapshot],
    options: ExecutionOptions | None = None,
) -> tuple[int, Json]:
    """Answer one `POST /graphql` body: returns (HTTP status, JSON body).

    `charge(cost)` spends the query's points from the caller's budget and returns the
    resulting snapshot (shown by `rateLimit { ... }`), or raises RateLimitExceeded.
    """
    query = prepare_graphql(payload)
    if not isinstance(query, PreparedQuery):
        return query
    return run_prepared(dataset, query, charge, options or ExecutionOptions())


@dataclass(frozen=True)
class PreparedQuery:
    """A parsed, validated query and its cost: what GitHub knows before running anything."""

    document: DocumentNode
    variables: Json | None
    operation_name: str | None
    cost: QueryCost


def prepare_graphql(payload: object) -> PreparedQuery | tuple[int, Json]:
    """Read, parse, validate and cost a body; an answer instead when it cannot run at all.

    Split from execution so the app can decide on size-dependent faults (timeouts,
    resource limits) from the node count, as GitHub's own limits do."""
    request = _read_payload(payload)
    if not isinstance(request, _Request):
        return request
    prepared = _prepare(request.query)
    if not isinstance(prepared, DocumentNode):
        return 200, {"errors": [dict(e) for e in prepared]}  # copies: the cached list stays intact
    cost = measure_cost(prepared, request.variables, request.operation_name)
    if cost.exceeded_at is not None:
        return 200, {"errors": [cost.node_limit_error()]}
    return PreparedQuery(prepared, request.variables, request.operation_name, cost)


def run_prepared(
    dataset: Dataset, query: PreparedQuery, charge: Callable[[int], RateSnapshot], options: ExecutionOptions
) -> tuple[int, Json]:
    """Charge the query's points, then execute it (HTTP 200 either way, as GitHub answers)."""
    try:
        snapshot = charge(query.cost.points)
    except RateLimitExceeded:
        return 200, {"errors": [rate_limit_error()]}
    scope = _Scope(dataset, options.access, options.resource_limited, options.search_indexed_at)
    result = execute_sync(
        _schema(),
        query.document,
        root_value=_Root(scope, snapshot, query.cost.nodes),
        variable_values=query.variables,
        operation_name=query.operation_name,
    )
    body: Json = {}
    if result.data is not None:
        body["data"] = result.data
    if result.errors:
        body["errors"] = [_format_error(e) for e in result.errors]
    return 200, body


@dataclass
class _Request:
    query: str
    variables: Json | None
    operation_name: str | None


def _read_payload(payload: object) -> _Request | tuple[int, Json]:
    if not isinstance(payload, dict):
        return 400, {
            "message": "Problems parsing JSON",
            "documentation_url": "https://docs.github.com/graphql",
        }
    query = payload.get("query")
    if not isinstance(query, str) or not query.strip():
        return 200, {"errors": [{"message": "A query attribute must be specified and must be a string."}]}
    variables = payload.get("variables")
    invalid_variables = 200, {"errors": [{"message": "Variables are invalid JSON."}]}
    if isinstance(variables, str):  # some clients send the variables JSON-encoded
        try:
            variables = json.loads(variables) if variables.strip() else None
        except ValueError:
            return invalid_variables
    if variables is not None and not isinstance(variables, dict):
        return invalid_variables
    operation_name = payload.get("operationName")
    return _Request(query, variables, operation_name if isinstance(operation_name, str) else None)


@lru_cache(maxsize=1)
def _schema() -> GraphQLSchema:
    sdl = resources.files("gitbrag.fakegithub").joinpath("schema.graphql").read_text(encoding="utf-8")
    built = build_schema(sdl)
    for type_ in built.type_map.values():
        if isinstance(type_, GraphQLInterfaceType | GraphQLUnionType):
            type_.resolve_type = _resolve_type
    return built


def _resolve_type(value: Any, _info: GraphQLResolveInfo[Any], _abstract: GraphQLAbstractType) -> str:
    """Which object type an adapter is, for unions (`... on PullRequest`) and interfaces."""
    return str(value.graphql_type)


def schema() -> GraphQLSchema:
    """The fake's GraphQL schema (for introspection in tests and tools)."""
    return _schema()


@lru_cache(maxsize=256)
def _prepare(query: str) -> DocumentNode | list[Json]:
    """Parse and validate once per distinct query text: clients repeat the same few queries."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return [_format_error(error)]
    errors = validate(_schema(), document)
    if errors:
        return [_format_error(e) for e in errors]
    return document


def _format_error(error: GraphQLError) -> Json:
    formatted: Json = dict(error.formatted)
    original = error.original_error
    if isinstance(original, GitHubGraphQLError):
        formatted = {"type": original.type, **formatted}
        if original.extensions:
            formatted["extensions"] = dict(original.extensions)
    return formatted


# --- cost ------------------------------------------------------------------------------


@dataclass
class QueryCost:
    """GitHub's cost of a query: requests needed for every connection, and nodes requested."""

    requests: int = 0
    nodes: int = 0
    exceeded_at: str | None = None  # the connection where the node count passed NODE_LIMIT
    exceeded_nodes: int = 0

    @property
    def points(self) -> int:
        """Requests / 100, rounded to nearest, at least 1 (GitHub's rate-limit score)."""
        return max(1, math.floor(self.requests / 100 + 0.5))

    def node_limit_error(self) -> Json:
        message = (
            f"By the time this query traverses to the {self.exceeded_at} connection, it is requesting "
            f"up to {self.exceeded_nodes:,} possible nodes which exceeds the maximum limit of {NODE_LIMIT:,}."
        )
        return {"type": "MAX_NODE_LIMIT_EXCEEDED", "message": message}


def measure_cost(
    document: DocumentNode, variables: Json | None, operation_name: str | None = None
) -> QueryCost:
    """Cost of a validated document, computed before execution as GitHub does.

    Each connection needs one request per parent item: a connection nested in a parent
    connection of `first: M` needs M requests, and requests M*N nodes for `first: N`.
    """
    operation = get_operation_ast(document, operation_name)
    cost = QueryCost()
    if operation is None:
        return cost
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walker = _CostWalker(_schema(), fragments, variables or {}, cost)
    walker.walk(operation.selection_set, _schema().query_type, 1, ())
    return cost


@dataclass
class _CostWalker:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: Json
    cost: QueryCost
    counted: set[tuple[str, ...]] = field(default_factory=set)

    def walk(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType | None,
        multiplier: int,
        path: tuple[str, ...],
    ) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._field(selection, parent, multiplier, path)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                self.walk(selection.selection_set, target, multiplier, path)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                target = self.schema.get_type(fragment.type_condition.name.value)
                self.walk(fragment.selection_set, target, multiplier, path)

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType | None, multiplier: int, path: tuple[str, ...]
    ) -> None:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return
        definition = parent.fields.get(node.name.value)
        if definition is None:  # __typename and other meta fields
            return
        key = (*path, (node.alias or node.name).value)
        named = get_named_type(definition.type)
        if named.name.endswith("Connection"):
            size = self._page_size(node)
            if key not in self.counted:  # fields merged from several fragments count once
                self.counted.add(key)
                self.cost.requests += multiplier  # one request per parent item
                self.cost.nodes += multiplier * size
                if self.cost.nodes > NODE_LIMIT and self.cost.exceeded_at is None:
                    self.cost.exceeded_at = node.name.value
                    self.cost.exceeded_nodes = self.cost.nodes
            multiplier *= size
        if node.selection_set is not None:
            self.walk(node.selection_set, named, multiplier, key)

    def _page_size(self, node: FieldNode) -> int:
        """`first` or `last` (bounded as execution will insist); 0 when missing or not an int."""
        for argument in node.arguments or ():
            if argument.name.value not in ("first", "last"):
                continue
            value: object = None
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value)
            if isinstance(value, int) and not isinstance(value, bool):
                return min(max(value, 0), PAGE_LIMIT)
        return 0


# --- pagination ------------------------------------------------------------------------


def _cursor(position: int) -> str:
    """GitHub-style opaque cursor for the 1-based `position` (search's are exactly these)."""
    return base64.b64encode(f"cursor:{position}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        match = _CURSOR.match(base64.b64decode(cursor, validate=True).decode())
    except (binascii.Error, UnicodeDecodeError):
        match = None
    if match is None:
        raise GitHubGraphQLError(
            "INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor."
        )
    return int(match.group(1))


def _check_bounds(name: str, first: int | None, last: int | None) -> None:
    if first is None and last is None:
        raise GitHubGraphQLError(
            "MISSING_PAGINATION_BOUNDARIES",
            f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.",
        )
    for argument, value in (("first", first), ("last", last)):
        if value is not None and value > PAGE_LIMIT:
            raise GitHubGraphQLError(
                "EXCESSIVE_PAGINATION",
                f"Requesting {value} records on the `{name}` connection exceeds the "
                f"`{argument}` limit of {PAGE_LIMIT} records.",
            )
        if value is not None and value < 0:
            raise GitHubGraphQLError(
                "INVALID_PAGINATION", f"`{argument}` on the `{name}` connection cannot be less than zero."
            )


class _Connection:
    """One page of a Relay connection: `nodes`, `edges`, `pageInfo`, `totalCount`."""

    def __init__(self, nodes: list[Any], start: int, total: int, extras: list[Json] | None = None) -> None:
        self.nodes = nodes
        self.totalCount = total
        self._start = start
        self._extras = extras
        end = start + len(nodes)
        self.pageInfo = {
            "startCursor": _cursor(start + 1) if nodes else None,
            "endCursor": _cursor(end) if nodes else None,
            "hasNextPage": end < total,
            "hasPreviousPage": start > 0,
        }

    @property
    def edges(self) -> list[Json]:
        extras = self._extras or [{}] * len(self.nodes)
        return [
            {"cursor": _cursor(self._start + i + 1), "node": node, **extra}
            for i, (node, extra) in enumerate(zip(self.nodes, extras, strict=True))
        ]


def _paginate(
    name: str,
    items: Sequence[T],
    page: Json,
    to_node: Callable[[T], Any],
    extra: Callable[[T], Json] | None = None,
) -> tuple[list[Any], int, list[Json] | None]:
    """Apply Relay's `after`/`before`/`first`/`last` to `items` under GitHub's bounds."""
    first, last = page.get("first"), page.get("last")
    _check_bounds(name, first, last)
    count = len(items)
    start = min(_decode_cursor(page["after"]), count) if page.get("after") is not None else 0
    end = _decode_cursor(page["before"]) - 1 if page.get("before") is not None else count
    end = max(start, min(end, count))
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    chunk = items[start:end]
    return [to_node(x) for x in chunk], start, [extra(x) for x in chunk] if extra else None


def _connection(
    name: str,
    items: Sequence[T],
    page: Json,
    to_node: Callable[[T], Any],
    extra: Callable[[T], Json] | None = None,
) -> _Connection:
    nodes, start, extras = _paginate(name, items, page, to_node, extra)
    return _Connection(nodes, start, len(items), extras)


# --- object types ----------------------------------------------------------------------
# Attribute names are GraphQL field names (hence camelCase); methods take the field's
# arguments. Properties keep unrequested fields free.


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node_id(type_name: str, database_id: int) -> str:
    """GitHub's legacy global node ID, e.g. "MDQ6VXNlcjE=" for User 1."""
    return base64.b64encode(f"0{len(type_name)}:{type_name}{database_id}".encode()).decode()


def _actor(scope: _Scope, login: str) -> _UserNode:
    """A User (or Organization) node for a login, also for logins the dataset only mentions."""
    user = scope.ds.user(login)
    if user is None:
        stamp = scope.ds.anchor
        user = FakeUser(account_id(login), login, None, None, None, None, "", None, stamp, stamp)
    return _OrganizationNode(scope, user) if user.type == "Organization" else _UserNode(scope, user)


def _not_found_repository(full_name: str) -> GitHubGraphQLError:
    return GitHubGraphQLError("NOT_FOUND", f"Could not resolve to a Repository with the name '{full_name}'.")


@dataclass(frozen=True)
class _Scope:
    """The dataset as one request's token sees it; every node resolves repositories through it."""

    ds: Dataset
    access: Access
    resource_limited: bool = False
    search_indexed_at: datetime | None = None

    def repository(self, full_name: str) -> _RepositoryNode:
        """NOT_FOUND for a repository that is missing or private to this token; FORBIDDEN for SAML."""
        repo = self.ds.repo(full_name)
        if repo is None or not self.access.sees(repo):
            raise _not_found_repository(full_name)
        if self.access.saml_blocked(self.ds, repo):
            raise saml_error()
        return _RepositoryNode(self, repo)

    def search_node(self, pull: FakePull, starved: bool) -> _PullRequestNode | GitHubGraphQLError:
        """A search result; the error instead nulls just this item (graphql-core raises a list
        item that is an exception at its own path, `search.nodes.i`), as GitHub's SAML does."""
        repo = self.ds.repo(pull.repo)
        if repo is not None and self.access.saml_blocked(self.ds, repo):
            return saml_error()
        return _PullRequestNode(self, pull, starved)


class _UserNode:
    graphql_type = "User"

    def __init__(self, scope: _Scope, user: FakeUser) -> None:
        self._scope = scope
        self._user = user
        self.login = user.login
        self.databaseId = user.id
        self.name = user.name
        self.bio = user.bio
        self.company = user.company
        self.location = user.location
        self.twitterUsername = user.twitter_username
        self.email = ""  # GitHub answers "" unless the email is public
        self.websiteUrl = user.blog or None
        self.resourcePath = f"/{user.login}"
        self.url = f"{HTML_BASE}/{user.login}"

    @property
    def id(self) -> str:
        return _node_id(self.graphql_type, self._user.id)

    @property
    def createdAt(self) -> str | None:
        return _iso(self._user.created_at)

    @property
    def updatedAt(self) -> str | None:
        return _iso(self._user.updated_at)

    @property
    def description(self) -> str | None:
        return self._user.bio

    def avatarUrl(self, _info: object, size: int | None = None) -> str:
        suffix = f"&s={size}" if size else ""
        return f"{AVATAR_BASE}/u/{self._user.id}?v=4{suffix}"

    def repository(self, _info: object, name: str, **_ignored: object) -> _RepositoryNode:
        return self._scope.repository(f"{self._user.login}/{name}")

    def socialAccounts(self, _info: object, **page: Any) -> _Connection:
        return _connection("socialAccounts", self._user.social_accounts, page, _social_account)

    def contributionsCollection(self, _info: object, **span: Any) -> Any:
        """Reviews by this user, one year at most (`contributions`)."""
        from gitbrag.fakegithub.contributions import contributions_collection  # builds on this module

        return contributions_collection(self._scope, self._user, span.get("from"), span.get("to"))


class _OrganizationNode(_UserNode):
    graphql_type = "Organization"

    @property
    def viewerIsAMember(self) -> bool:
        """The viewer is a member of no organization, unless a test makes it one (a membership
        of `VIEWER.login`)."""
        members = self._scope.ds.org_members.get(self._user.login.lower(), ())
        return any(m.login.lower() == VIEWER.login for m in members)

    def membersWithRole(self, _info: object, **page: Any) -> _Connection:
        """GitHub shows a non-member the public members only (totalCount counts those too), and
        a member every member, concealed ones included: a brag site must never rely on this
        field alone (`gitbrag.github.orgs` checks `viewerIsAMember`). `hasTwoFactorEnabled`
        is null, as GitHub answers anyone but the organization's owners."""
        members = self._scope.ds.public_members(self._user.login, concealed=self.viewerIsAMember)
        return _connection(
            "membersWithRole",
            members,
            page,
            lambda m: _actor(self._scope, m.login),
            lambda m: {"role": m.role, "hasTwoFactorEnabled": None},
        )


def _social_account(account: FakeSocialAccount) -> Json:
    provider = account.provider.upper()
    provider = provider if provider in _SOCIAL_PROVIDERS else "GENERIC"
    handle = account.url.rstrip("/").rsplit("/", 1)[-1].lstrip("@")
    display = account.url if provider == "GENERIC" else f"@{handle}"
    return {"provider": provider, "url": account.url, "displayName": display}


class _RepositoryNode:
    graphql_type = "Repository"

    def __init__(self, scope: _Scope, repo: FakeRepo) -> None:
        self._scope = scope
        self._repo = repo
        self.databaseId = repo.id
        self.name = repo.name
        self.nameWithOwner = repo.full_name
        self.description = repo.description
        self.stargazerCount = repo.stargazers_count
        self.forkCount = 0
        self.isFork = repo.fork
        self.isPrivate = repo.private
        self.visibility = "PRIVATE" if repo.private else "PUBLIC"
        self.isArchived = False
        self.homepageUrl = None
        self.resourcePath = f"/{repo.full_name}"
        self.url = f"{HTML_BASE}/{repo.full_name}"

    @property
    def id(self) -> str:
        return _node_id("Repository", self._repo.id)

    @property
    def descriptionHTML(self) -> str:
        return f"<div>{html.escape(self._repo.description or '')}</div>"

    @property
    def owner(self) -> _UserNode:
        return _actor(self._scope, self._repo.owner)

    @property
    def primaryLanguage(self) -> Json | None:
        name = self._repo.language
        if name is None:
            return None
        return {
            "name": name,
            "color": _LANGUAGE_COLORS.get(name),
            "id": _node_id("Language", zlib.crc32(name.encode())),
        }

    @property
    def createdAt(self) -> str | None:
        return _iso(self._repo.created_at)

    @property
    def updatedAt(self) -> str | None:
        return _iso(self._repo.updated_at)

    @property
    def pushedAt(self) -> str | None:
        return _iso(self._repo.pushed_at)

    def stargazers(self, _info: object, orderBy: Json | None = None, **page: Any) -> _StarConnection:  # noqa: N803
        """Keyset-paged like GitHub's (`keyset.py`): a kept cursor survives unstars elsewhere.

        Refused (FORBIDDEN) to a token that does not administer the repository while the
        `stargazers_restricted_graphql` fault is on: the field is non-null in GitHub's schema,
        so the null reaches the repository node, with the error's path at this field."""
        if self._scope.access.refuses_stargazers(self._repo):
            raise stargazers_refused_error()
        _check_bounds("stargazers", page.get("first"), page.get("last"))
        newest_first = orderBy is not None and orderBy.get("direction") == "DESC"
        order = keyset.StarOrder(self._repo.stars)  # STARRED_AT ASC is GitHub's default
        try:
            positions, has_next, has_previous = keyset.page(order, newest_first, page)
        except keyset.InvalidCursor as exc:
            raise GitHubGraphQLError(
                "INVALID_CURSOR_ARGUMENTS", f"`{exc}` does not appear to be a valid cursor."
            ) from None
        return _StarConnection(self._scope, order, positions, has_next, has_previous)


class _StarConnection:
    """One page of a `StargazerConnection`: edges carry `starredAt` and keyset cursors."""

    def __init__(
        self, scope: _Scope, order: keyset.StarOrder, positions: list[int], has_next: bool, has_previous: bool
    ) -> None:
        self._scope = scope
        self._order = order
        self._positions = positions
        self.totalCount = len(order)
        cursors = [keyset.encode(order.key(i)) for i in (positions[0], positions[-1])] if positions else []
        self.pageInfo = {
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
        }

    @property
    def nodes(self) -> list[Any]:
        return [_actor(self._scope, self._order.stars[i].login) for i in self._positions]

    @property
    def edges(self) -> list[Json]:
        return [
            {
                "cursor": keyset.encode(self._order.key(i)),
                "node": _actor(self._scope, self._order.stars[i].login),
                "starredAt": _iso(self._order.stars[i].starred_at),
            }
            for i in self._positions
        ]


def _file_node(file: FakeFile) -> Json:
    return {
        "path": file.filename,
        "additions": file.additions,
        "deletions": file.deletions,
        "changeType": _PATCH_STATUS.get(file.status, "MODIFIED"),
    }


class _PullRequestNode:
    graphql_type = "PullRequest"

    def __init__(self, scope: _Scope, pull: FakePull, starved: bool = False) -> None:
        self._scope = scope
        self._pull = pull
        self._starved = starved  # its `files` fails with RESOURCE_LIMITS_EXCEEDED
        self.databaseId = pull.id
        self.number = pull.number
        self.title = pull.title
        self.body = pull.body or ""
        self.isDraft = pull.draft
        self.merged = pull.merged
        self.closed = pull.state == "closed"
        self.authorAssociation = pull.author_association
        self.resourcePath = f"/{pull.repo}/pull/{pull.number}"
        self.url = self.permalink = f"{HTML_BASE}{self.resourcePath}"

    @property
    def id(self) -> str:
        return _node_id("PullRequest", self._pull.id)

    @property
    def bodyHTML(self) -> str:
        return f"<p>{html.escape(self.body)}</p>" if self.body else ""

    @property
    def state(self) -> str:
        return "MERGED" if self._pull.merged else self._pull.state.upper()

    @property
    def createdAt(self) -> str | None:
        return _iso(self._pull.created_at)

    @property
    def updatedAt(self) -> str | None:
        return _iso(self._pull.updated_at)

    @property
    def closedAt(self) -> str | None:
        return _iso(self._pull.closed_at)

    @property
    def mergedAt(self) -> str | None:
        return _iso(self._pull.merged_at)

    @property
    def additions(self) -> int:
        return self._pull.additions

    @property
    def deletions(self) -> int:
        return self._pull.deletions

    @property
    def changedFiles(self) -> int:
        return self._pull.changed_files

    @property
    def author(self) -> _UserNode:
        return _actor(self._scope, self._pull.author)

    @property
    def repository(self) -> _RepositoryNode:
        return self._scope.repository(self._pull.repo)

    @property
    def baseRepository(self) -> _RepositoryNode:
        return self.repository

    def files(self, _info: object, **page: Any) -> _Connection:
        """Capped at FILES_CAP like REST (totalCount says so too); `changedFiles` keeps the truth."""
        if self._starved:
            raise GitHubGraphQLError("RESOURCE_LIMITS_EXCEEDED", RESOURCE_LIMITS_MESSAGE)
        return _connection("files", self._pull.files[:FILES_CAP], page, _file_node)


class _SearchConnection(_Connection):
    def __init__(self, nodes: list[Any], start: int, reachable: int, issue_count: int) -> None:
        super().__init__(nodes, start, reachable)
        self.issueCount = issue_count
        self.codeCount = self.discussionCount = self.repositoryCount = self.userCount = self.wikiCount = 0


# --- root --------------------------------------------------------------------------------


class _Root:
    def __init__(self, scope: _Scope, snapshot: RateSnapshot, node_count: int) -> None:
        self._scope = scope
        self._ds = scope.ds
        self._snapshot = snapshot
        self._node_count = node_count

    def search(self, _info: object, query: str, type: str, **page: Any) -> _SearchConnection:  # noqa: A002
        """ISSUE search over the PRs; the fake has no other searchable records.

        As on GitHub, only the first 1,000 results can be paged to; issueCount is the
        full count. A query naming an unknown user or repository finds nothing.
        """
        pulls: list[FakePull] = []
        total = 0
        if type in ("ISSUE", "ISSUE_ADVANCED"):
            try:
                result = search_issues(
                    self._ds, query, access=self._scope.access, indexed_at=self._scope.search_indexed_at
                )
                pulls, total = result.items, result.total_count
            except UnknownSearchTargetError:
                pass
            except SearchQueryError as error:
                raise GraphQLError(str(error)) from None
        chunk, start, _ = _paginate("search", pulls[:SEARCH_CAP], page, lambda p: p)
        half = (len(chunk) + 1) // 2  # a resource-limited query serves files for the first half only
        starve = self._scope.resource_limited
        nodes = [self._scope.search_node(p, starve and i >= half) for i, p in enumerate(chunk)]
        return _SearchConnection(nodes, start, min(total, SEARCH_CAP), total)

    def repository(self, _info: object, owner: str, name: str, **_ignored: object) -> _RepositoryNode:
        return self._scope.repository(f"{owner}/{name}")

    def user(self, _info: object, login: str) -> _UserNode:
        user = self._ds.user(login)
        if user is None or user.type == "Organization":
            raise GitHubGraphQLError("NOT_FOUND", f"Could not resolve to a User with the login of '{login}'.")
        return _UserNode(self._scope, user)

    def organization(self, _info: object, login: str) -> _UserNode:
        user = self._ds.user(login)
        if user is None or user.type != "Organization":
            message = f"Could not resolve to an Organization with the login of '{login}'."
            raise GitHubGraphQLError("NOT_FOUND", message)
        return _OrganizationNode(self._scope, user)

    def rateLimit(self, _info: object, **_ignored: object) -> Json:
        snap = self._snapshot
        return {
            "cost": snap.cost,
            "limit": snap.limit,
            "remaining": snap.remaining,
            "used": snap.used,
            "resetAt": _iso(snap.reset_at),
            "nodeCount": self._node_count,
        }

    @property
    def viewer(self) -> _UserNode:
        return _UserNode(self._scope, VIEWER)
