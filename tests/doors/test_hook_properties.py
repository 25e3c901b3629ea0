"""Properties of the refresh hook under arbitrary input, over real HTTP.

Hypothesis throws arbitrary methods, paths, usernames, query strings, headers and bodies
at two running hooks (one open, one with a secret). Whatever arrives:
- the answer is never a 5xx, and an error answer is JSON;
- a name that is not a valid GitHub login is a 400 at /refresh and /status;
- nothing outside site/ is touched, and no generation runs for an invalid name
  (the fake GitHub is only ever asked about tracked users).
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from gitbrag.doors.hook import BODY_LIMIT
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.models import PERIODS, logins
from tests.doors.test_hook import SECRET, TRACKED, Clock, RunningHook, make_settings, outside_site

EXAMPLES = 1200  # per hook: a few thousand requests in all


@dataclass
class World:
    root: Path
    fake: FakeGitHubServer
    hook: RunningHook
    client: httpx.Client


@pytest.fixture(scope="module", params=["open", "secret"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp(request.param)
    (root / "www" / "etc").mkdir(parents=True)
    (root / "www" / "etc" / "passwd").write_text("root:x:0:0\n")
    secret = SecretStr(SECRET) if request.param == "secret" else None
    with FakeGitHubServer(shared_dataset()) as fake:
        # A long cooldown: each tracked user generates at most once however often it is hit.
        settings_ = make_settings(root, fake, hook_secret=secret, force_cooldown_seconds=3600)
        with RunningHook(settings_, clock=Clock()) as hook:
            hook.call(lambda r: r.store.track(logins(TRACKED), hook.now(), PERIODS))
            before = outside_site(root)
            with httpx.Client(base_url=hook.url, timeout=30) as client:
                yield World(root, fake, hook, client)
            hook.call(lambda r: r.drain())
            searched = httpx.get(fake.url + "/_fake/stats").json()["searches_by_author"]
            assert set(searched) <= {u.lower() for u in TRACKED}
            tracked = [u.login for u in hook.call(lambda r: r.store.tracked())]
            assert sorted(tracked) == sorted(u.lower() for u in TRACKED)
        assert outside_site(root) == before
        site = settings_.site_dir
        if site.exists():
            # each tracked user's folder, and a redirect at GitHub's spelling where it differs
            assert {p.name for p in site.iterdir()} <= {u.lower() for u in TRACKED} | set(TRACKED)


def github_login(name: str) -> bool:
    """GitHub's rule, written out plainly as the oracle (independent of the hook's regex)."""
    allowed = set(string.ascii_letters + string.digits + "-")
    return (
        1 <= len(name) <= 39
        and set(name) <= allowed
        and not name.startswith("-")
        and not name.endswith("-")
        and "--" not in name
    )


# --- strategies ------------------------------------------------------------------------

HOSTILE = ["..", ".", "../..", "%2e%2e", "%2E%2E%2F", "..%2f..%2fetc%2fpasswd", "%00", "%ff", "-", "a" * 40]
usernames = st.one_of(
    st.sampled_from(TRACKED + [u.upper() for u in TRACKED] + HOSTILE),
    st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}", fullmatch=True),  # valid
    st.text(alphabet="aZ09-._/%\\~", max_size=45),  # near misses
    st.text(max_size=45),  # anything, unicode included
)
# Every byte the request line allows (printable ASCII but space), so raw `..`, `%`, `\` arrive as such.
raw_chars = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)


def name_segment(name: str, safe: str) -> str:
    """`name` as a path segment: percent-encoded except `safe` (raw `.`, `%`, `\\` ... reach the server)."""
    return quote(name, safe=safe).replace("?", "%3F").replace("#", "%23")


queries = st.one_of(
    st.just(""),
    st.sampled_from(PERIODS).map(lambda p: "?period=" + p),
    raw_chars.map(lambda q: "?period=" + q.replace("#", "")),
    raw_chars.map(lambda q: "?" + q.replace("#", "")),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, str | None]:
    """Method, request target, and the decoded username when the target addresses
    /refresh/<name> or /status/<name>. Mostly the two routes with a name, with their own
    method; sometimes anything."""
    if draw(st.integers(0, 9)) < 8:
        method, prefix = draw(st.sampled_from([("POST", "/refresh/"), ("GET", "/status/")]))
        if draw(st.integers(0, 9)) == 0:
            method = draw(st.sampled_from(["GET", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]))
        name = draw(usernames)
        path = prefix + name_segment(name, draw(st.sampled_from(["", "/%.-~\\"])))
        return method, path + draw(queries), unquote(path[len(prefix) :])
    method = draw(st.sampled_from(["POST", "GET", "OPTIONS", "PUT", "DELETE", "HEAD", "PATCH"]))
    prefix = draw(
        st.sampled_from(["/healthz", "/metrics", "/", "/refresh", "/status", "/refresh/", "/status/"])
    )
    path = prefix + draw(st.one_of(st.just(""), raw_chars.map(lambda c: c.replace("?", "").replace("#", ""))))
    return method, path + draw(queries), None


header_names = st.one_of(
    st.sampled_from(
        [
            "Authorization",
            "X-Hub-Signature-256",
            "X-Gitbrag-Timestamp",
            "X-GitHub-Delivery",
            "Origin",
            "Content-Type",
            "Accept",
            "Access-Control-Request-Method",
            "Access-Control-Request-Headers",
            "Cookie",
            "X-Forwarded-For",
        ]
    ),
    st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True),
)
header_values = st.one_of(
    st.sampled_from(
        [
            f"Bearer {SECRET}x",
            "Bearer",
            "Bearer  x",
            "sha256=",
            "sha256=" + "0" * 64,
            "POST",
            "https://evil.example",
            "application/openmetrics-text; version=garbage",
            "text/plain; version=x.y",
            "application/json",
        ]
    ),
    # Latin-1 visible characters (what HTTP allows in a value), no surrounding blanks.
    st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80
    ),
)
headers = st.dictionaries(header_names, header_values, max_size=4)
bodies = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([BODY_LIMIT - 1, BODY_LIMIT, BODY_LIMIT + 1, 2 * BODY_LIMIT]).map(lambda n: b"{" * n),
)


# --- the property ------------------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests(), headers=headers, body=bodies)
def test_no_input_breaks_the_hook(
    world: World, request: tuple[str, str, str | None], headers: dict[str, str], body: bytes
) -> None:
    method, target, name = request
    sent = world.client.build_request(
        method, "/", headers={k: v.encode("latin-1") for k, v in headers.items()}, content=body
    )
    sent.extensions["target"] = target.encode("ascii")  # exactly this, no client tidying
    answer = world.client.send(sent)
    event(f"HTTP {answer.status_code}")
    assert answer.status_code < 500, (method, target, answer.text)
    if (
        answer.status_code >= 400
        and answer.headers.get("content-type") == "application/json"
        and method != "HEAD"
    ):
        assert set(answer.json()) >= {"error"}
    addressed = (method, target.split("/")[1]) in {("POST", "refresh"), ("GET", "status")}
    if addressed and name is not None and not github_login(name):
        assert answer.status_code == 400, (method, target, answer.text)
