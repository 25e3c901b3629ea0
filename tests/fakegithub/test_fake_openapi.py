"""The fake's REST bodies against GitHub's own OpenAPI response schemas.

`tests/data/github/rest-openapi-subset.json` is GitHub's description (unchanged) of the
routes a contribution-report client reads. Every body the fake serves for them, for
ordinary and awkward records alike (hostile text, a user with no PRs, an organization,
a PR past the 3,000-file cap), must validate, so a field that drifts from GitHub's
name, type or nullability fails here before a client comes to rely on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from gitbrag.fakegithub.records import Dataset
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset

SPEC_PATH = Path(__file__).parents[1] / "data" / "github" / "rest-openapi-subset.json"
AUTH = {"Authorization": "token ghp_openapi_test"}
STAR_JSON = {"Accept": "application/vnd.github.star+json"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def gh() -> Iterator[httpx.Client]:
    with (
        FakeGitHubServer(shared_dataset()) as server,
        httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as client,
    ):
        yield client


def _errors(spec: dict[str, Any], route: str, body: Any) -> list[str]:
    """Every way `body` breaks the route's schema (OpenAPI 3.0: `nullable`, formats checked)."""
    schema = spec[route]["application/json"]["schema"]
    validator = OAS30Validator(schema, format_checker=oas30_format_checker)
    return [f"{e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(body)]


def _pull(ds: Dataset, login: str, index: int = 0) -> tuple[str, int]:
    p = sorted(ds.pulls_by(login), key=lambda p: p.created_at, reverse=True)[index]
    return p.repo, p.number


def _widest_pull(ds: Dataset, login: str) -> tuple[str, int]:
    p = max(ds.pulls_by(login), key=lambda p: p.changed_files)
    return p.repo, p.number


def _cases(ds: Dataset) -> list[tuple[str, str, dict[str, str], dict[str, str]]]:
    """(schema route, path, query, headers) for representative records of every route."""
    pulls = (_widest_pull(ds, "Mona-Lisa"), _pull(ds, "hostile-hank"), _widest_pull(ds, "huge-hugo"))
    merged = next(p for p in ds.pulls_by("steady-sam") if p.merged)
    cases: list[tuple[str, str, dict[str, str], dict[str, str]]] = []
    for login in ("Mona-Lisa", "hostile-hank", "zero-zoe", "octo-org", "saml-corp", "private-priya"):
        cases.append(("/users/{username}", f"/users/{login}", {}, {}))
        cases.append(("/users/{username}/social_accounts", f"/users/{login}/social_accounts", {}, {}))
    for repo in ("star-rocket/rocket", "hostile-hank/xss-playground", "zero-zoe/hello-world",
                 "priya-corp/secret-ledger"):  # fmt: skip
        cases.append(("/repos/{owner}/{repo}", f"/repos/{repo}", {}, {}))
        cases.append(("/repos/{owner}/{repo}/stargazers", f"/repos/{repo}/stargazers", {}, {}))
        cases.append(("/repos/{owner}/{repo}/stargazers", f"/repos/{repo}/stargazers", {}, STAR_JSON))
    for repo, number in (*pulls, (merged.repo, merged.number)):
        cases.append(("/repos/{owner}/{repo}/pulls/{pull_number}", f"/repos/{repo}/pulls/{number}", {}, {}))
        files = f"/repos/{repo}/pulls/{number}/files"
        cases.append(("/repos/{owner}/{repo}/pulls/{pull_number}/files", files, {"per_page": "100"}, {}))
    for q in ("is:pr author:Mona-Lisa", "is:pr author:hostile-hank", "is:pr author:zero-zoe",
              "is:pr author:private-priya is:private", "is:pr is:merged author:steady-sam"):  # fmt: skip
        cases.append(("/search/issues", "/search/issues", {"q": q, "per_page": "100"}, {}))
    cases.append(("/rate_limit", "/rate_limit", {}, {}))
    return cases


def test_every_rest_body_validates_against_githubs_openapi_schema(
    gh: httpx.Client, spec: dict[str, Any]
) -> None:
    cases = _cases(shared_dataset())
    assert {route for route, *_ in cases} == set(spec), "every route of the subset is exercised"
    failures = []
    for route, path, params, headers in cases:
        response = gh.get(path, params=params, headers=headers)
        assert response.status_code == 200, (path, response.text[:200])
        failures += [f"{path} {params} {headers}: {e}" for e in _errors(spec, route, response.json())[:5]]
    assert not failures, "\n".join(failures)


def test_the_validator_catches_a_drifted_body(gh: httpx.Client, spec: dict[str, Any]) -> None:
    """The check above can fail: each kind of drift (wrong type, missing field, null where
    GitHub never sends one, unknown enum value) is refused."""
    repo, number = _pull(shared_dataset(), "Mona-Lisa")
    pull = gh.get(f"/repos/{repo}/pulls/{number}").json()
    assert _errors(spec, "/repos/{owner}/{repo}/pulls/{pull_number}", pull) == []
    drifts: list[dict[str, Any]] = [
        {**pull, "number": str(pull["number"])},
        {k: v for k, v in pull.items() if k != "head"},
        {**pull, "title": None},
        {**pull, "state": "merged"},
    ]
    for drifted in drifts:
        assert _errors(spec, "/repos/{owner}/{repo}/pulls/{pull_number}", drifted)
    search = gh.get("/search/issues", params={"q": "author:zero-zoe"}).json()
    assert _errors(spec, "/search/issues", {k: v for k, v in search.items() if k != "search_type"})
