"""`compose.yaml` against what the service, the image and the nginx configuration expect.

Compose is not run here (no Docker in the test suite): the file is read with a YAML parser
and each name, port and path it uses is checked against its source of truth, so a renamed
setting, a moved volume or a changed port fails here with the offending name instead of in
production with a silently ignored variable.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml  # type: ignore[import-untyped]
from pydantic import AliasChoices

from gitbrag.settings import Settings, load_settings

ROOT = Path(__file__).parent.parent
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
NGINX = ROOT / "deploy" / "nginx.conf"
# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`, `${NAME?error}`, `${NAME:+alt}`.
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


# --- the sources of truth ------------------------------------------------------------------------


def setting_names() -> set[str]:
    """Every environment variable `Settings` reads: the prefix plus the field's name, or its
    validation aliases when it has any (`GITHUB_TOKEN`)."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add((prefix + field_name).upper())
    return names


def is_ours(name: str) -> bool:
    return name.startswith("GITBRAG_") or name in ("GITHUB_TOKEN", "GITBRAG_GITHUB_TOKEN")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    instructions = [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]
    parsed = [(i[0].upper(), i[1] if len(i) > 1 else "") for i in instructions]
    last_from = max(n for n, (op, _) in enumerate(parsed) if op == "FROM")
    return parsed[last_from:]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for op, args in dockerfile_instructions():
        if op == "ENV":
            for pair in shlex.split(args):
                name, sep, value = pair.partition("=")
                assert sep, f"Dockerfile: ENV {pair!r} is not NAME=value"
                env[name] = value
    return env


def dockerfile_list(instruction: str) -> list[str]:
    values: list[str] = []
    for op, args in dockerfile_instructions():
        if op == instruction:
            values += json.loads(args) if args.startswith("[") else args.split()
    return values


def nginx_directives(name: str) -> list[str]:
    """The arguments of every `name ...;` directive in deploy/nginx.conf."""
    text = re.sub(r"#[^\n]*", "", NGINX.read_text())
    return [m.strip() for m in re.findall(rf"(?:^|[{{;\s]){name}\s+([^;]+);", text)]


# --- compose.yaml ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict) and isinstance(loaded.get("services"), dict), "compose.yaml: no services"
    return loaded


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    assert name in compose["services"], f"compose.yaml: no service {name!r}"
    found: dict[str, Any] = compose["services"][name]
    return found


def gitbrag_service(compose: dict[str, Any]) -> str:
    """The service built from this repository's Dockerfile."""
    built = [name for name, spec in compose["services"].items() if spec.get("build") in (".", "./")]
    assert len(built) == 1, f"compose.yaml: expected one service with `build: .`, found {built}"
    return str(built[0])


def environment(spec: dict[str, Any]) -> dict[str, str]:
    env = spec.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def interpolate(value: str) -> str:
    """What compose makes of `value` when the operator sets only what is required (a
    placeholder `t` for `${X:?...}`), every default applied."""

    def one(match: re.Match[str]) -> str:
        op, word = match.group(2) or "", match.group(3) or ""
        return word if op in (":-", "-") else "t" if op in (":?", "?") else ""

    return INTERPOLATION.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def volumes(spec: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read-only) of each mount, short or long syntax."""
    mounts = []
    for entry in spec.get("volumes") or []:
        if isinstance(entry, dict):
            mounts.append((str(entry.get("source", "")), str(entry["target"]), bool(entry.get("read_only"))))
        else:
            parts = str(entry).split(":")
            mode = parts[2] if len(parts) > 2 else ""
            mounts.append((parts[0], parts[1], "ro" in mode.split(",")))
    return mounts


def container_settings(compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """The settings the service loads in the container: the image's ENV, then compose's
    environment with its defaults, nothing else (no .env, none of the runner's variables)."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if is_ours(name):
            monkeypatch.delenv(name)
    env = dockerfile_env() | {
        k: interpolate(v) for k, v in environment(service(compose, gitbrag_service(compose))).items()
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


# --- the checks -----------------------------------------------------------------------------------


def test_every_variable_compose_and_the_image_set_is_a_real_setting(compose: dict[str, Any]) -> None:
    known = setting_names()
    assert {"GITBRAG_SITE_DIR", "GITBRAG_HOOK_PORT", "GITHUB_TOKEN"} <= known  # the reading itself works
    for name, spec in compose["services"].items():
        for variable in environment(spec):
            if is_ours(variable):
                assert variable in known, (
                    f"compose.yaml: service {name} sets {variable}, which no setting reads"
                )
    for variable in dockerfile_env():
        if is_ours(variable):
            assert variable in known, f"Dockerfile: ENV {variable} is read by no setting"


def test_every_variable_the_operator_passes_in_is_a_real_setting(compose: dict[str, Any]) -> None:
    # `${GITBRAG_USERS:-}`: the operator's own variable, under the name the README gives it.
    known = setting_names()
    for name, spec in compose["services"].items():
        for variable, value in environment(spec).items():
            for used in INTERPOLATION.findall(value):
                if is_ours(used[0]):
                    assert used[0] in known, (
                        f"compose.yaml: service {name}, {variable} takes ${{{used[0]}}}, which is no setting"
                    )


def test_the_services_settings_load_and_listen_where_nginx_proxies(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = container_settings(compose, monkeypatch, tmp_path)  # a bad value fails here, named
    name = gitbrag_service(compose)
    exposed = {int(p.split("/")[0]) for p in dockerfile_list("EXPOSE")}
    assert exposed == {settings.hook_port}, (
        f"Dockerfile EXPOSE {exposed}, the hook listens on {settings.hook_port}"
    )
    assert settings.hook_host == "0.0.0.0", "the hook must listen beyond the container's loopback for nginx"
    upstreams = [urlsplit(p) for p in nginx_directives("proxy_pass")]
    assert upstreams, "deploy/nginx.conf proxies nothing to the hook"
    for upstream in upstreams:
        assert upstream.hostname == name, f"deploy/nginx.conf proxies to {upstream.hostname}, not to {name}"
        assert upstream.port == settings.hook_port, f"deploy/nginx.conf proxies to port {upstream.port}"
    # The Redis it is given is the compose file's own.
    assert settings.redis_url is not None
    redis = urlsplit(settings.redis_url)
    assert redis.hostname in compose["services"], f"GITBRAG_REDIS_URL names {redis.hostname}, no service"
    assert redis.hostname in (service(compose, name).get("depends_on") or {}), (
        f"{name} does not wait for Redis"
    )
    # The image's HEALTHCHECK (compose waits on it before nginx starts) asks the hook's port.
    assert dockerfile_list("HEALTHCHECK"), "Dockerfile: no HEALTHCHECK, yet compose waits for service_healthy"
    assert str(settings.hook_port) in " ".join(dockerfile_list("HEALTHCHECK"))


def test_the_volumes_are_the_images_and_hold_the_site_and_the_state(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = container_settings(compose, monkeypatch, tmp_path)
    mounts = {target: source for source, target, _ in volumes(service(compose, gitbrag_service(compose)))}
    declared = set(dockerfile_list("VOLUME"))
    assert set(mounts) == declared, (
        f"compose mounts {sorted(mounts)}, the Dockerfile's VOLUMEs are {sorted(declared)}"
    )
    site = PurePosixPath(str(settings.site_dir))
    state = PurePosixPath(str(settings.state_path)).parent
    assert str(site) in mounts, f"GITBRAG_SITE_DIR={site} is on no volume"
    assert any(state.is_relative_to(t) for t in mounts if PurePosixPath(t) != site), (
        f"GITBRAG_STATE_PATH={settings.state_path} is on no volume of its own"
    )
    for source in mounts.values():
        assert source in (compose.get("volumes") or {}), f"compose.yaml: volume {source} is not declared"


def test_nginx_serves_the_published_site_read_only_with_this_config(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    site = str(container_settings(compose, monkeypatch, tmp_path).site_dir)
    publisher = service(compose, gitbrag_service(compose))
    published_site = {target: source for source, target, _ in volumes(publisher)}
    assert site in published_site, f"GITBRAG_SITE_DIR={site} is on no volume of {gitbrag_service(compose)}"
    site_volume = published_site[site]
    proxies = [
        name for name, spec in compose["services"].items() if str(spec.get("image", "")).startswith("nginx")
    ]
    assert len(proxies) == 1, f"compose.yaml: expected one nginx service, found {proxies}"
    web = service(compose, proxies[0])
    mounts = {target: (source, read_only) for source, target, read_only in volumes(web)}
    (root,) = nginx_directives("root")
    assert mounts.get(root) == (site_volume, True), (
        f"nginx's root {root} must be the site volume {site_volume}, read-only; compose mounts {mounts}"
    )
    configs = {
        target: source for target, (source, _) in mounts.items() if target.startswith("/etc/nginx/conf.d/")
    }
    assert [(ROOT / source).resolve() for source in configs.values()] == [NGINX.resolve()], configs
    # The published port reaches nginx's `listen`, and the default public URLs name it.
    (listen,) = nginx_directives("listen")
    published = {str(p).rsplit(":", 1)[0]: str(p).rsplit(":", 1)[1] for p in web.get("ports") or []}
    assert listen.split()[0] in published.values(), (
        f"compose publishes {published}, nginx listens on {listen}"
    )
    for variable in ("GITBRAG_BASE_URL", "GITBRAG_HOOK_PUBLIC_URL"):
        assert variable in environment(publisher), f"compose.yaml: {variable} is not set (the hook's origin)"
        url = urlsplit(interpolate(environment(publisher)[variable]))
        assert str(url.port or 80) in published, (
            f"{variable} defaults to port {url.port}, not one compose publishes"
        )
    # Its health check asks the proxied /healthz, on the port nginx listens on.
    (check,) = [urlsplit(a) for a in web["healthcheck"]["test"] if str(a).startswith("http://")]
    assert (check.path, str(check.port or 80)) == ("/healthz", listen.split()[0]), check.geturl()
    assert re.search(r"location\s*=\s*/healthz\s*\{\s*proxy_pass", NGINX.read_text()), (
        "nginx: /healthz unproxied"
    )
