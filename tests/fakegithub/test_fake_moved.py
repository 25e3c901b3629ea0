"""The fake's `moved_*` switches answer as GitHub does for a renamed repository: 301 Moved
Permanently to the same path under `/repositories/{id}` (query string kept), where the same
resource is served, with the `Link` pages staying there."""

from __future__ import annotations

import httpx

from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset

AUTH = {"Authorization": "Bearer t"}


def test_moved_next_answers_301_to_the_repository_s_id_where_the_same_files_are_served() -> None:
    with FakeGitHubServer(shared_dataset()) as gh:
        path = "/repos/cloud-forge/tiny-sdk/pulls/10/files?per_page=100"
        before = httpx.get(gh.url + path, headers=AUTH)
        httpx.post(gh.url + "/_fake/faults", json={"moved_next": 1}).raise_for_status()
        moved = httpx.get(gh.url + path, headers=AUTH)
        assert moved.status_code == 301
        location = moved.headers["location"]
        assert location.startswith(gh.url + "/repositories/")
        assert location.endswith("/pulls/10/files?per_page=100")
        assert moved.json()["message"] == "Moved Permanently" and moved.json()["url"] == location
        there = httpx.get(location, headers=AUTH)
        assert there.status_code == 200 and there.json() == before.json()
        assert gh.url + "/repositories/" in there.headers["link"]
        assert httpx.get(gh.url + path, headers=AUTH).status_code == 200  # once only
        assert gh.app_state.stats.faults["moved"] == 1
