"""The GitHub client's behaviour under GitHub's documented failure modes.

GitHub is replaced by `httpx.MockTransport` handlers and time by a fake clock whose
`sleep` only advances the clock, so hour-long rate-limit waits take no real time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from gitbrag.github import AuthError, GitHubClient, GitHubError, GitHubUnavailable, NotFound
from gitbrag.github.client import TRANSIENT_ATTEMPTS, HiddenNode
from gitbrag.github.errors import QueryTimeout
from gitbrag.github.pacing import LocalWindow, Pacing, token_key

API = "https://api.github.test"
GRAPHQL = API + "/graphql"
START = 1_700_000_000.0

Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]


class FakeTime:
    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make_client(
    handler: Handler, fake_time: FakeTime, tokens: list[str] | None = None, **kw: Any
) -> GitHubClient:
    return GitHubClient(
        ["secret-token-1"] if tokens is None else tokens,
        API,
        GRAPHQL,
        transport=httpx.MockTransport(handler),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        **kw,
    )


def limits(remaining: int, reset: float, resource: str = "core") -> dict[str, str]:
    return {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(int(reset)),
        "x-ratelimit-resource": resource,
    }


def script(*responses: httpx.Response) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering with `responses` in turn (the last one repeats), recording requests."""
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses[min(len(seen), len(responses)) - 1]

    return handler, seen


OK = httpx.Response(200, json={"login": "octocat"}, headers=limits(4999, START + 3600))


# --- rate limits -----------------------------------------------------------------------


async def test_primary_limit_waits_until_reset_then_retries(fake_time: FakeTime) -> None:
    reset = START + 600
    spent = httpx.Response(403, json={"message": "API rate limit exceeded"}, headers=limits(0, reset))
    handler, seen = script(spent, OK)
    async with make_client(handler, fake_time) as client:
        response = await client.rest_get("/users/octocat")
    assert response.json == {"login": "octocat"}
    assert len(seen) == 2
    assert fake_time.now >= reset  # the retry went out only after the reset
    assert fake_time.now - reset < 5


async def test_secondary_limit_honours_retry_after(fake_time: FakeTime) -> None:
    slow_down = httpx.Response(429, json={"message": "slow down"}, headers={"retry-after": "42"})
    handler, seen = script(slow_down, OK)
    async with make_client(handler, fake_time) as client:
        await client.rest_get("/users/octocat")
    assert len(seen) == 2
    assert fake_time.sleeps == [42]


async def test_secondary_limit_without_retry_after_waits_a_minute_then_backs_off(fake_time: FakeTime) -> None:
    message = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    secondary = httpx.Response(403, json=message, headers=limits(4000, START + 3600))
    handler, seen = script(secondary, secondary, secondary, OK)
    async with make_client(handler, fake_time) as client:
        await client.rest_get("/users/octocat")
    assert len(seen) == 4
    assert fake_time.sleeps == [60, 120, 240]


async def test_plain_403_is_an_error_not_a_wait(fake_time: FakeTime) -> None:
    handler, seen = script(httpx.Response(403, json={"message": "Resource not accessible by integration"}))
    async with make_client(handler, fake_time) as client:
        with pytest.raises(GitHubError, match="Resource not accessible"):
            await client.rest_get("/repos/o/r")
    assert len(seen) == 1 and fake_time.sleeps == []


async def test_graphql_rate_limited_error_waits_for_reset(fake_time: FakeTime) -> None:
    reset = START + 900
    limited = httpx.Response(
        200,
        json={"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]},
        headers=limits(0, reset, "graphql"),
    )
    answer = httpx.Response(200, json={"data": {"viewer": {"login": "me"}, "rateLimit": {"cost": 3}}})
    handler, seen = script(limited, answer)
    async with make_client(handler, fake_time) as client:
        data = await client.graphql("query { viewer { login } rateLimit { cost } }", {})
        assert data["viewer"] == {"login": "me"}
        assert client.usage.graphql_points == 3
        assert client.usage.requests["graphql"] == 2
    assert fake_time.now >= reset


async def test_graphql_errors_become_exceptions(fake_time: FakeTime) -> None:
    not_found = {
        "data": {"user": None},
        "errors": [{"type": "NOT_FOUND", "path": ["user"], "message": "Could not resolve to a User"}],
    }
    invalid = {"errors": [{"message": "Field 'nope' doesn't exist on type 'Query'"}]}
    handler, _ = script(httpx.Response(200, json=not_found), httpx.Response(200, json=invalid))
    async with make_client(handler, fake_time) as client:
        with pytest.raises(NotFound, match="Could not resolve"):
            await client.graphql("query { user(login: $l) { login } }", {"l": "ghost"})
        with pytest.raises(GitHubError, match="doesn't exist"):
            await client.graphql("query { nope }", {})


async def test_graphql_not_found_can_be_tolerated_for_batched_queries(fake_time: FakeTime) -> None:
    body = {
        "data": {"r0": None, "r1": {"nameWithOwner": "o/b"}},
        "errors": [{"type": "NOT_FOUND", "path": ["r0"], "message": "Could not resolve to a Repository"}],
    }
    handler, _ = script(httpx.Response(200, json=body))
    async with make_client(handler, fake_time) as client:
        data = await client.graphql("query { ... }", {}, allow_not_found=True)
    assert data == {"r0": None, "r1": {"nameWithOwner": "o/b"}}


# --- transient failures ----------------------------------------------------------------


async def test_502_is_retried_with_backoff_then_succeeds(fake_time: FakeTime) -> None:
    handler, seen = script(httpx.Response(502), httpx.Response(504), OK)
    async with make_client(handler, fake_time) as client:
        response = await client.rest_get("/users/octocat")
        assert client.usage.retries == 2
    assert response.status == 200 and len(seen) == 3
    assert len(fake_time.sleeps) == 2 and all(0 < s <= 30 for s in fake_time.sleeps)


async def test_malformed_json_is_retried(fake_time: FakeTime) -> None:
    truncated = httpx.Response(200, content=b'{"login": "octo', headers={"content-type": "application/json"})
    handler, seen = script(truncated, OK)
    async with make_client(handler, fake_time) as client:
        response = await client.rest_get("/users/octocat")
    assert response.json == {"login": "octocat"} and len(seen) == 2


async def test_exhausted_retries_raise_unavailable_naming_host_and_cause(fake_time: FakeTime) -> None:
    handler, seen = script(httpx.Response(503))
    async with make_client(handler, fake_time) as client:
        with pytest.raises(GitHubUnavailable) as caught:
            await client.rest_get("/users/octocat")
    assert len(seen) == TRANSIENT_ATTEMPTS
    assert "api.github.test" in str(caught.value) and "503" in str(caught.value)


async def test_connection_errors_raise_unavailable_after_retries(fake_time: FakeTime) -> None:
    attempts = 0

    async def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        raise httpx.ConnectError("Connection refused", request=request)

    async with make_client(refuse, fake_time) as client:
        with pytest.raises(GitHubUnavailable, match="ConnectError"):
            await client.graphql("query { viewer { login } }", {})
    assert attempts == TRANSIENT_ATTEMPTS


# --- errors that must not retry ---------------------------------------------------------


async def test_401_raises_auth_error_without_the_token(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    handler, seen = script(httpx.Response(401, json={"message": "Bad credentials"}))
    async with make_client(handler, fake_time, tokens=["ghp_supersecret123"]) as client:
        with pytest.raises(AuthError) as caught:
            await client.rest_get("/user")
    assert str(caught.value) == "GitHub rejected the token (401 Bad credentials)"
    assert seen[0].headers["authorization"] == "Bearer ghp_supersecret123"  # it was sent...
    assert "ghp_supersecret123" not in caplog.text  # ...but never logged
    assert len(seen) == 1


async def test_404_raises_not_found(fake_time: FakeTime) -> None:
    handler, _ = script(httpx.Response(404, json={"message": "Not Found"}))
    async with make_client(handler, fake_time) as client:
        with pytest.raises(NotFound):
            await client.rest_get("/users/ghost")


# --- token pool ---------------------------------------------------------------------------


def per_token(budgets: dict[str, list[httpx.Response]]) -> tuple[Handler, list[str]]:
    """A handler answering each token from its own script; records which token each request used."""
    used: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        used.append(token)
        replies = budgets[token]
        return replies.pop(0) if len(replies) > 1 else replies[0]

    return handler, used


async def test_pool_prefers_the_token_with_most_budget_left(fake_time: FakeTime) -> None:
    reset = START + 3600
    handler, used = per_token(
        {
            "low": [httpx.Response(200, json={}, headers=limits(10, reset))],
            "high": [httpx.Response(200, json={}, headers=limits(4000, reset))],
        }
    )
    async with make_client(handler, fake_time, tokens=["low", "high"]) as client:
        for _ in range(2):  # learn each token's budget
            await client.rest_get("/x")
        used.clear()
        for _ in range(5):
            await client.rest_get("/x")
    assert used == ["high"] * 5


async def test_spent_token_rests_until_reset_while_others_carry_on(fake_time: FakeTime) -> None:
    reset = START + 1800
    handler, used = per_token(
        {
            "a": [httpx.Response(403, json={"message": "API rate limit exceeded"}, headers=limits(0, reset))],
            "b": [httpx.Response(200, json={}, headers=limits(100, reset))],
        }
    )
    async with make_client(handler, fake_time, tokens=["a", "b"]) as client:
        for _ in range(4):
            await client.rest_get("/x")
    assert used.count("a") == 1  # tried once, then left alone
    assert used.count("b") == 4
    assert fake_time.sleeps == []  # nobody waited: b had budget


async def test_all_tokens_spent_waits_for_the_earliest_reset(fake_time: FakeTime) -> None:
    early, late = START + 300, START + 3000
    spent = {"message": "API rate limit exceeded"}
    handler, used = per_token(
        {
            "a": [httpx.Response(403, json=spent, headers=limits(0, late)), OK],
            "b": [httpx.Response(403, json=spent, headers=limits(0, early)), OK],
        }
    )
    async with make_client(handler, fake_time, tokens=["a", "b"]) as client:
        response = await client.rest_get("/users/octocat")
    assert response.json == {"login": "octocat"}
    assert used == ["a", "b", "b"]
    assert early <= fake_time.now < late


async def test_search_budget_is_separate_from_core(fake_time: FakeTime) -> None:
    reset = START + 60
    search_spent = httpx.Response(403, json={"message": "rate limit"}, headers=limits(0, reset, "search"))

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/search/") and fake_time.now < reset:
            return search_spent
        return httpx.Response(200, json={"items": []}, headers=limits(4000, START + 3600))

    async with make_client(handler, fake_time) as client:
        await client.rest_get("/search/issues", {"q": "is:pr"})
        assert fake_time.now >= reset  # search waited for its reset
        waited = fake_time.now
        await client.rest_get("/users/octocat")
        assert fake_time.now == waited  # core did not wait


# --- concurrency, conditional requests, pagination ---------------------------------------


async def test_never_more_than_max_in_flight(fake_time: FakeTime) -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        return httpx.Response(200, json={})

    async with make_client(handler, fake_time, max_in_flight=3) as client:
        await asyncio.gather(*(client.rest_get(f"/repos/o/r{i}") for i in range(30)))
        assert client.usage.requests["core"] == 30
    assert peak == 3


async def test_etag_makes_a_conditional_request_and_304_is_not_modified(fake_time: FakeTime) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == '"abc"':
            return httpx.Response(304, headers={"etag": '"abc"'})
        return httpx.Response(200, json={"login": "octocat"}, headers={"etag": '"abc"'})

    async with make_client(handler, fake_time) as client:
        first = await client.rest_get("/users/octocat")
        second = await client.rest_get("/users/octocat", etag=first.etag)
        assert client.usage.not_modified == 1
    assert first.etag == '"abc"' and not first.not_modified
    assert second.not_modified and second.status == 304 and second.json is None


async def test_rest_pages_follows_link_next(fake_time: FakeTime) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        headers = (
            {"link": f'<{API}/repos/o/r/stargazers?per_page=2&page={page + 1}>; rel="next"'}
            if page < 3
            else {}
        )
        return httpx.Response(200, json=[page * 10, page * 10 + 1], headers=headers)

    async with make_client(handler, fake_time) as client:
        pages = [p async for p in client.rest_pages("/repos/o/r/stargazers", {"per_page": 2})]
    assert pages == [[10, 11], [20, 21], [30, 31]]


async def test_unauthenticated_client_sends_no_authorization(fake_time: FakeTime) -> None:
    handler, seen = script(OK)
    async with make_client(handler, fake_time, tokens=[]) as client:
        await client.rest_get("/users/octocat")
    assert "authorization" not in seen[0].headers


async def test_retry_budget_is_configurable_for_fast_failing_checks(fake_time: FakeTime) -> None:
    handler, seen = script(httpx.Response(502))
    async with make_client(handler, fake_time, transient_attempts=2) as client:
        with pytest.raises(GitHubUnavailable, match="after 2 attempts"):
            await client.rest_get("/rate_limit")
    assert len(seen) == 2


# --- per-minute pacing (GitHub's secondary limits, kept rather than hit) ----------------------

GRAPHQL_OK = httpx.Response(
    200, json={"data": {"rateLimit": {"cost": 1, "remaining": 4999}}}, headers=limits(4999, START + 3600)
)


def send_times(fake_time: FakeTime) -> tuple[Handler, list[float]]:
    times: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        times.append(fake_time.now)
        return GRAPHQL_OK if request.url.path == "/graphql" else OK

    return handler, times


async def test_graphql_queries_are_paced_per_minute(fake_time: FakeTime) -> None:
    handler, times = send_times(fake_time)
    pacing = Pacing(graphql=LocalWindow(limit=3, period=60))
    async with make_client(handler, fake_time, pacing=pacing) as client:
        for _ in range(7):
            await client.graphql("query { rateLimit { cost } }", {})
        assert client.usage.pacing_waits == 2 and client.usage.rate_limit_waits == 0
    assert [t - START for t in times] == [0, 0, 0, 60, 60, 60, 120]


async def test_rest_search_is_paced_but_other_rest_is_not_held_up(fake_time: FakeTime) -> None:
    handler, times = send_times(fake_time)
    pacing = Pacing(search=LocalWindow(limit=2, period=60))
    async with make_client(handler, fake_time, pacing=pacing) as client:
        for _ in range(3):
            await client.rest_get("/search/issues", {"q": "is:pr"})
        await client.rest_get("/users/octocat")
    assert [t - START for t in times] == [0, 0, 60, 60]


async def test_graphql_search_spends_points_not_the_search_window_unless_asked(fake_time: FakeTime) -> None:
    handler, times = send_times(fake_time)
    for pace_graphql_search, expected in ((False, [0, 0, 0]), (True, [0, 60, 120])):
        times.clear()
        fake_time.now = START
        pacing = Pacing(search=LocalWindow(limit=1, period=60))
        async with make_client(
            handler, fake_time, pacing=pacing, pace_graphql_search=pace_graphql_search
        ) as client:
            for _ in range(3):
                await client.graphql("query { rateLimit { cost } }", {}, search=True)
            assert client.usage.graphql_searches == 3
        assert [t - START for t in times] == expected


async def test_a_paced_token_gives_way_to_another_in_the_pool(fake_time: FakeTime) -> None:
    used: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        used.append(request.headers["authorization"])
        return GRAPHQL_OK

    pacing = Pacing(graphql=LocalWindow(limit=1, period=60))
    async with make_client(handler, fake_time, tokens=["tok-a", "tok-b"], pacing=pacing) as client:
        for _ in range(2):
            await client.graphql("query { rateLimit { cost } }", {})
    assert sorted(used) == ["Bearer tok-a", "Bearer tok-b"]
    assert fake_time.now == START  # nobody waited: the second token carried on


# --- GitHub's answers as seen in the wild (issue: real GitHub, not a friendly fake) -----------

SECONDARY_TEXT = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."


def graphql_ok(data: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.Response(
        200, json={"data": data or {"viewer": {"login": "me"}}}, headers=limits(4000, START)
    )


@pytest.mark.parametrize(
    "error",
    [
        {"type": "RATE_LIMIT", "code": "graphql_rate_limit", "message": "API rate limit already exceeded"},
        {"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."},
    ],
)
async def test_graphql_primary_limit_rests_until_reset_whatever_remaining_says(
    fake_time: FakeTime, error: dict[str, str]
) -> None:
    reset = START + 900
    limited = httpx.Response(200, json={"errors": [error]}, headers=limits(37, reset, "graphql"))
    handler, seen = script(limited, graphql_ok())
    async with make_client(handler, fake_time) as client:
        assert await client.graphql("query { viewer { login } }", {}) == {"viewer": {"login": "me"}}
    assert len(seen) == 2
    assert reset <= fake_time.now < reset + 5


@pytest.mark.parametrize("retry_after", [None, "30"])
async def test_a_secondary_limit_answered_with_200_is_waited_out(
    fake_time: FakeTime, retry_after: str | None
) -> None:
    headers = limits(4000, START + 3600, "graphql") | ({"retry-after": retry_after} if retry_after else {})
    secondary = httpx.Response(200, json={"errors": [{"message": SECONDARY_TEXT}]}, headers=headers)
    handler, seen = script(secondary, graphql_ok())
    async with make_client(handler, fake_time) as client:
        await client.graphql("query { viewer { login } }", {})
    assert len(seen) == 2
    assert fake_time.sleeps == ([30] if retry_after else [60])


TIMEOUT_BODY = {
    "data": None,
    "errors": [
        {
            "message": "Something went wrong while executing your query. This may be the result of a "
            "timeout, or it could be a GitHub bug. Please include `AB12:CD34` when reporting this issue."
        }
    ],
}


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(200, json=TIMEOUT_BODY), httpx.Response(502, text="<html>502 Bad Gateway</html>"),
     httpx.Response(504, json={"message": "We couldn't respond to your request in time."})],
)  # fmt: skip
async def test_a_graphql_timeout_is_not_resent_as_it_was_when_the_caller_can_shrink(
    fake_time: FakeTime, answer: httpx.Response
) -> None:
    handler, seen = script(answer, graphql_ok())
    async with make_client(handler, fake_time) as client:
        with pytest.raises(QueryTimeout):
            await client.graphql("query { viewer { login } }", {}, can_shrink=True)
        assert len(seen) == 1  # not resent
        # A caller that cannot ask for less gets the usual retry with backoff.
        assert await client.graphql("query { viewer { login } }", {}) == {"viewer": {"login": "me"}}
        assert client.usage.timeouts == 1


async def test_hidden_nodes_come_back_beside_the_data_instead_of_failing(fake_time: FakeTime) -> None:
    saml = {
        "type": "FORBIDDEN",
        "path": ["search", "nodes", 1],
        "extensions": {"saml_failure": True},
        "message": "Resource protected by organization SAML enforcement.",
    }
    body = {"data": {"search": {"nodes": [{"number": 1}, None]}}, "errors": [saml]}
    handler, _ = script(httpx.Response(200, json=body))
    async with make_client(handler, fake_time) as client:
        answer = await client.graphql_partial("query { search }", {})
        assert answer.data["search"]["nodes"] == [{"number": 1}, None]
        assert answer.hidden == [HiddenNode(("search", "nodes", 1), "saml")]
        with pytest.raises(GitHubError, match="FORBIDDEN"):  # a query that must be whole says so
            await client.graphql("query { search }", {})


async def test_requests_in_flight_are_capped_per_token_and_measured(fake_time: FakeTime) -> None:
    open_now: dict[str, int] = {}
    peaks: dict[str, int] = {}

    async def handler(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"]
        open_now[token] = open_now.get(token, 0) + 1
        peaks[token] = max(peaks.get(token, 0), open_now[token])
        await asyncio.sleep(0.002)
        open_now[token] -= 1
        return httpx.Response(200, json={}, headers=limits(4000, START + 3600))

    async with make_client(handler, fake_time, tokens=["a", "b"], max_in_flight=4) as client:
        await asyncio.gather(*(client.rest_get(f"/repos/o/r{i}") for i in range(60)))
        assert client.usage.max_in_flight == 4
    assert set(peaks.values()) == {4}  # each token at most 4 at once, and both were used


async def test_graphql_waits_once_its_answers_took_a_minute_of_the_last_minute(fake_time: FakeTime) -> None:
    """GitHub's CPU-time limit (60 s of GraphQL per minute), estimated from response times."""
    pacing = Pacing()
    handler, seen = script(graphql_ok())
    async with make_client(handler, fake_time, pacing=pacing) as client:
        for _ in range(3):  # three answers of 25 s each, as a slow GitHub might give
            pacing.spent(token_key("secret-token-1"), fake_time.now, 25.0)
            await client.graphql("query { viewer { login } }", {})
    assert len(seen) == 3
    assert len(fake_time.sleeps) == 1 and 59 <= fake_time.sleeps[0] <= 60  # the third waited


async def test_a_reset_further_than_an_hour_away_rests_at_most_an_hour(fake_time: FakeTime) -> None:
    """Our clock set back (or GitHub's skewed) must not turn a rest into a longer one."""
    spent = httpx.Response(
        403, json={"message": "API rate limit exceeded"}, headers=limits(0, START + 3 * 3600)
    )
    handler, seen = script(spent, OK)
    async with make_client(handler, fake_time) as client:
        await client.rest_get("/users/octocat")
    assert len(seen) == 2
    assert fake_time.now - START <= 3600 + 2


# --- redirects and other origins -------------------------------------------------------------


async def test_a_redirect_on_the_api_origin_is_followed_with_the_token(fake_time: FakeTime) -> None:
    moved = httpx.Response(
        301, json={"message": "Moved Permanently"}, headers={"location": API + "/repositories/7"}
    )
    handler, seen = script(moved, OK)
    async with make_client(handler, fake_time) as client:
        response = await client.rest_get("/repos/old/name")
    assert response.json == {"login": "octocat"}
    assert [str(r.url) for r in seen] == [API + "/repos/old/name", API + "/repositories/7"]
    assert all(r.headers["authorization"] == "Bearer secret-token-1" for r in seen)


async def test_endless_redirects_and_redirected_queries_are_errors_not_answers(fake_time: FakeTime) -> None:
    loop = httpx.Response(302, headers={"location": API + "/repos/o/r"})
    handler, seen = script(loop)
    async with make_client(handler, fake_time) as client:
        with pytest.raises(GitHubError, match="redirected api.github.test/repos/o/r more than 5 times"):
            await client.rest_get("/repos/o/r")
        with pytest.raises(GitHubError, match="without a redirect to follow"):
            await client.graphql("{ viewer { login } }", {})  # a POST is never sent elsewhere


async def test_a_request_for_another_origin_is_never_sent(fake_time: FakeTime) -> None:
    handler, seen = script(OK)
    async with make_client(handler, fake_time) as client:
        for elsewhere in (
            "https://api.github.test:8443/x",
            "http://api.github.test/x",
            "https://evil.test/x",
        ):
            with pytest.raises(GitHubError, match="not followed: the token goes only there"):
                await client.rest_get(elsewhere)
    assert seen == []
