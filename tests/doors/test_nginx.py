"""`deploy/nginx.conf` under the real nginx (Debian's package), in front of a real service.

The repository's file is the `server {}` block compose mounts into nginx's `conf.d`; the test
wraps it in a main configuration like the nginx image's (`events {}`, `http { include
mime.types; ... }`) and changes three things only, textually: the `listen` port (a free
loopback port), the `root` (a site published by `gitbrag-refresh --once` against the fake
GitHub, with the hook's public URL at nginx's origin) and the upstream `refresher:8080` (the
running service's hook). nginx runs in the foreground as a child process, every path of its
own (prefix, pid, logs, temporary files) in the test's folder.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from gitbrag.doors.hook import BODY_LIMIT
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from tests.conftest import free_port
from tests.publish.test_site_browser import CHROMIUM, CHROMIUM_ARGS
from tests.support import REFRESH, clean_env, refresh, wait_for

ROOT = Path(__file__).parents[2]
CONF = ROOT / "deploy" / "nginx.conf"
MIME_TYPES = Path("/etc/nginx/mime.types")  # Debian's nginx package, as the nginx image has it
USERS = ["steady-sam", "zero-zoe", "Mona-Lisa"]
PAGE_HEADERS = {
    "cache-control": "public, max-age=300",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}
ASSET_HEADERS = PAGE_HEADERS | {"cache-control": "public, max-age=31536000, immutable"}


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found is None:
        pytest.fail("nginx is missing: apt-get install nginx (the CI script .ci/run installs it)")
    return found


def substitute(conf: str, pattern: str, replacement: str, count: int) -> str:
    """`conf` with `pattern` (a regex) replaced, failing when the file no longer has it
    `count` times: the test must change the deployed file in exactly the expected places."""
    found = len(re.findall(pattern, conf, flags=re.MULTILINE))
    assert found == count, f"deploy/nginx.conf: expected {count} match(es) of {pattern!r}, found {found}"
    return re.sub(pattern, replacement, conf, flags=re.MULTILINE)


def deployed_conf(port: int, site: Path, hook: str) -> str:
    conf = CONF.read_text()
    conf = substitute(conf, r"^(\s*)listen\s+80\s*;", rf"\g<1>listen 127.0.0.1:{port};", 1)
    conf = substitute(conf, r"^(\s*)root\s+/usr/share/nginx/html\s*;", rf"\g<1>root {site};", 1)
    return substitute(conf, r"\brefresher:8080\b", hook, 2)


def main_conf(work: Path, server_conf: Path) -> str:
    """What the nginx image's /etc/nginx/nginx.conf does around conf.d, with every path the
    master or a worker writes inside `work`."""
    # Run as root (CI), the workers would drop to `nobody`, who cannot enter pytest's 0700
    # folders: keep them as the user running the test. As another user the line is unneeded.
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {work / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"    include {MIME_TYPES};\n"
        "    default_type application/octet-stream;\n"
        f"    access_log {work / 'access.log'};\n"
        "    sendfile on;\n"
        "    keepalive_timeout 65;\n"
        f"{temp}\n"
        f"    include {server_conf};\n"
        "}\n"
    )


@dataclass
class Deployment:
    origin: str  # nginx, as browsers reach it
    hook: str  # the service's hook, directly
    site: Path

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.origin + path, **kwargs)


def log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def answers(url: str, process: subprocess.Popen[Any], log: Path) -> bool:
    """Whether `url` answers 200 yet; fails at once, with the log, when the process died."""
    assert process.poll() is None, f"{process.args!r} exited with {process.returncode}:\n{log_tail(log)}"
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    work = tmp_path_factory.mktemp("nginx")
    nginx_port, hook_port = free_port(), free_port()
    origin = f"http://127.0.0.1:{nginx_port}"
    with FakeGitHubServer(shared_dataset()) as fake:
        env = clean_env(
            GITHUB_TOKEN="t",
            GITBRAG_GITHUB_API_URL=fake.url,
            GITBRAG_USERS=",".join(USERS),
            GITBRAG_BASE_URL=origin + "/",
            GITBRAG_HOOK_PUBLIC_URL=origin,
            GITBRAG_HOOK_PORT=str(hook_port),
            GITBRAG_SCAN_INTERVAL_SECONDS="3600",
        )
        published = refresh(work, env=env)
        assert published.returncode == 0, published.stderr[-3000:]
        site = work / "site"

        service_log = work / "service.log"
        with service_log.open("w") as sink:
            service = subprocess.Popen([REFRESH], cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=sink)
        prefix = work / "nginx"
        prefix.mkdir()
        server_conf = prefix / "gitbrag.conf"
        server_conf.write_text(deployed_conf(nginx_port, site, f"127.0.0.1:{hook_port}"))
        main = prefix / "nginx.conf"
        main.write_text(main_conf(prefix, server_conf))
        error_log = prefix / "error.log"
        nginx = None
        try:
            hook = f"http://127.0.0.1:{hook_port}"
            wait_for(lambda: answers(hook + "/healthz", service, service_log), 60, "the service's hook")
            nginx = subprocess.Popen(
                [
                    nginx_binary(), "-p", str(prefix), "-e", str(error_log), "-c", str(main),
                    "-g", f"daemon off; pid {prefix / 'nginx.pid'}; error_log {error_log} info;",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            wait_for(lambda: answers(origin + "/healthz", nginx, error_log), 30, "nginx")
            yield Deployment(origin=origin, hook=hook, site=site)
        finally:
            if nginx is not None:
                nginx.terminate()  # SIGTERM: nginx's fast shutdown, workers included
                nginx.wait(timeout=30)
            service.send_signal(signal.SIGTERM)
            service.wait(timeout=60)
        assert nginx.returncode == 0, log_tail(error_log)
        assert service.returncode == 0, log_tail(service_log)
        # No request above made nginx log an error (a failed proxy, a denied file, ...).
        # nginx logs a refused big body as an error: that one is expected.
        errors = [
            line
            for line in error_log.read_text().splitlines()
            if re.search(r"\[(error|crit|alert|emerg)\]", line)
            and "intended to send too large body" not in line
        ]
        assert errors == [], errors


def assert_headers(response: httpx.Response, expected: dict[str, str]) -> None:
    got = {name: response.headers.get(name) for name in expected}
    assert got == expected, f"{response.request.url.path} ({response.status_code}): {got}"


# --- the static site -------------------------------------------------------------------------------


def test_pages_are_served_with_a_short_cache_and_the_security_headers(deployment: Deployment) -> None:
    pages = ["/", "/index.html", "/steady-sam/", "/steady-sam/2_years/index.html"]
    for path in pages + ["/steady-sam/all_time/report.json", "/sitemap.xml"]:
        response = deployment.get(path)
        assert response.status_code == 200, path
        assert_headers(response, PAGE_HEADERS)
    for path in pages:
        response = deployment.get(path)
        assert response.headers["content-type"] == "text/html; charset=utf-8", path
        assert response.text.rstrip().endswith("</html>"), path
    report = deployment.get("/steady-sam/all_time/report.json")
    assert report.headers["content-type"].startswith("application/json")
    assert report.content == (deployment.site / "steady-sam" / "all_time" / "report.json").read_bytes()


def test_assets_are_immutable_for_a_year(deployment: Deployment) -> None:
    assets = sorted(p for p in (deployment.site / "assets").iterdir() if not p.name.startswith("."))
    assert assets, "the published site has no assets/"
    for asset in assets:
        response = deployment.get(f"/assets/{asset.name}")
        assert response.status_code == 200, asset.name
        assert response.content == asset.read_bytes()
        assert_headers(response, ASSET_HEADERS)
        kind = {".css": ("text/css",), ".js": ("application/javascript", "text/javascript")}
        assert response.headers["content-type"].startswith(kind.get(asset.suffix, ("",))), asset.name


def test_a_missing_address_is_404_with_the_sites_404_page(deployment: Deployment) -> None:
    not_found = (deployment.site / "404.html").read_text()
    for path in ["/no-such-user/", "/steady-sam/3_years/index.html", "/assets/missing-0123abcd.js"]:
        response = deployment.get(path)
        assert response.status_code == 404, path
        assert response.text == not_found, path
        # The page itself is the site's, with the site's headers, not an asset's year-long cache.
        assert_headers(response, PAGE_HEADERS)


def test_the_publishers_hidden_temporary_files_are_never_served(deployment: Deployment) -> None:
    not_found = (deployment.site / "404.html").read_text()
    planted = {
        ".index.html.abc.tmp": "<html>half a page",
        "steady-sam/.report.json.k3j.tmp": '{"username": ',
        "steady-sam/all_time/.index.html.q1.tmp": "<html>half",
        "assets/.site.js.z9.tmp": "half(",
        ".gitbrag-probe-x/index.html": "<html>probe</html>",
    }
    for name, text in planted.items():
        path = deployment.site / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    try:
        for name in planted:
            response = deployment.get("/" + name)
            assert response.status_code == 404, name
            assert response.text == not_found, name
    finally:
        for name in planted:
            (deployment.site / name).unlink()
        (deployment.site / ".gitbrag-probe-x").rmdir()


def test_a_folder_without_its_slash_redirects_on_the_origin_the_reader_used(deployment: Deployment) -> None:
    # Compose publishes nginx's port 80 as 8000: a redirect naming nginx's own port (or
    # host) would send the reader to an address where nothing listens.
    public = "gitbrag.example:8000"
    response = deployment.get("/steady-sam", headers={"Host": public})
    assert response.status_code == 301
    target = urljoin(f"http://{public}/steady-sam", response.headers["location"])
    assert target == f"http://{public}/steady-sam/", response.headers["location"]


# --- the hook, through the proxy -------------------------------------------------------------------


def assert_same_answer(proxied: httpx.Response, direct: httpx.Response) -> None:
    what = f"{proxied.request.method} {proxied.request.url.path}"
    assert proxied.status_code == direct.status_code, what
    assert proxied.headers.get("content-type") == direct.headers.get("content-type"), what
    assert proxied.json() == direct.json(), what


def test_status_and_healthz_reach_the_hook_as_it_answers_them(deployment: Deployment) -> None:
    for path in ["/healthz", "/status/zero-zoe", "/status/Zero-Zoe", "/status/not-tracked", "/status/-bad-"]:
        proxied = httpx.get(deployment.origin + path)
        direct = httpx.get(deployment.hook + path)
        assert_same_answer(proxied, direct)
    assert httpx.get(deployment.origin + "/healthz").json()["status"] == "ok"
    status = httpx.get(deployment.origin + "/status/zero-zoe").json()
    assert status["tracked"] is True and set(status["periods"]) >= {"1_year", "all_time"}


def test_refresh_reaches_the_hook_with_its_answers_and_headers(deployment: Deployment) -> None:
    origin, hook = deployment.origin, deployment.hook
    # Refused before anything happens: the same JSON whichever way it arrives.
    for path in ["/refresh/not-tracked", "/refresh/-bad-", "/refresh/zero-zoe?period=3_years"]:
        assert_same_answer(httpx.post(origin + path), httpx.post(hook + path))
    # A webhook-sized body passes; one over the hook's limit gets the hook's 413, as JSON.
    big = b"x" * (BODY_LIMIT + 1)
    assert_same_answer(
        httpx.post(origin + "/refresh/not-tracked", content=big),
        httpx.post(hook + "/refresh/not-tracked", content=big),
    )
    assert httpx.post(origin + "/refresh/not-tracked", content=big).status_code == 413
    assert httpx.post(origin + "/refresh/not-tracked", content=b"x" * BODY_LIMIT).status_code == 404
    # Scheduled through the proxy, then the cooldown, with its Retry-After, whichever way.
    before_refresh = httpx.get(origin + "/status/zero-zoe").json()["periods"]
    first = httpx.post(origin + "/refresh/zero-zoe?period=1_year")
    assert first.status_code == 202, first.text
    assert first.json() == {
        "status": "scheduled",
        "username": "zero-zoe",
        "period": "1_year",
        "report_url": f"{origin}/zero-zoe/1_year/",
    }
    for url in (origin, hook):
        again = httpx.post(url + "/refresh/zero-zoe?period=1_year")
        assert again.status_code == 429, again.text
        assert 1 <= int(again.headers["retry-after"]) <= 60
        assert again.json()["error"].startswith("zero-zoe was refreshed recently")

    # The proxied refresh really ran: the service generated the report again.
    def generated_at() -> str:
        return str(httpx.get(origin + "/status/zero-zoe").json()["periods"]["1_year"]["generated_at"])

    before = before_refresh["1_year"]["generated_at"]
    wait_for(lambda: generated_at() != before, 60, "the refreshed report to be generated")
    report = deployment.site / "zero-zoe" / "1_year" / "report.json"
    assert httpx.get(origin + "/zero-zoe/1_year/report.json").content == report.read_bytes()


def test_metrics_stay_private(deployment: Deployment) -> None:
    # Only /refresh, /status and /healthz are proxied: /metrics is the operator's.
    response = deployment.get("/metrics")
    assert response.status_code == 404
    assert response.text == (deployment.site / "404.html").read_text()
    assert httpx.get(deployment.hook + "/metrics").status_code == 200


# --- the "Refresh now" button, same origin ---------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_refresh_now_works_on_the_same_origin(deployment: Deployment, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()
    elsewhere: list[str] = []
    posts: list[str] = []

    def route(handler: Any) -> None:
        if handler.request.url.startswith(deployment.origin + "/"):
            handler.continue_()
        else:  # loopback only: avatars and the like never leave the machine
            elsewhere.append(handler.request.url)
            handler.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    try:
        page.goto(deployment.origin + "/steady-sam/2_years/index.html")
        button = page.get_by_role("button", name="Refresh now")
        status = page.get_by_role("status")
        button.click()
        expect(status).to_have_text(
            "Refresh scheduled. Reload the page in a minute to see the new numbers.", timeout=10000
        )
        button.click()  # inside the user's cooldown: the hook's 429 and its Retry-After, read
        expect(status).to_have_text(
            re.compile(r"This report was refreshed moments ago\. Try again in (\d+ seconds|1 minute)\."),
            timeout=10000,
        )
    finally:
        context.close()
    assert errors == []
    assert posts == [deployment.origin + "/refresh/steady-sam?period=2_years"] * 2
    assert {urlsplit(u).hostname for u in elsewhere} <= {"avatars.githubusercontent.com"}, elsewhere
