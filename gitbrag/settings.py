"""Configuration from the environment (prefix `GITBRAG_`) and an optional `.env` file.

Invalid values are rejected when settings are loaded, naming the variable, so a
misconfigured cron job fails at once with a one-line message rather than halfway
through a pass. Two steps, both before anything is created: `load_settings` checks
each value on its own (types, ranges, URL syntax), `check_paths` what only the file
system can say (a site folder that cannot be made, a state path that is a folder).
An empty optional setting (`GITBRAG_REDIS_URL=` in a compose file) means unset.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Literal, Self, TypeVar
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import (
    AliasChoices,
    Field,
    HttpUrl,
    PrivateAttr,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gitbrag.coordination.redis import redis_url_parts
from gitbrag.models import LOGIN_RE, Login, PrivateMode, is_login
from gitbrag.periods import DEFAULT_TIMEZONE, check_timezone, parse_period
from gitbrag.report.exclude import check_language, parse_exclusion
from gitbrag.report.languages import check_glob

T = TypeVar("T")

DEFAULT_API_URL = "https://api.github.com"
DAY = 86400
# The defaults other modules take too (a Refresher, a TaskTracker or a Publisher built without
# settings): each is written here only.
DEFAULT_STALE_AFTER_SECONDS = DAY
DEFAULT_TASK_TTL_SECONDS = 300
DEFAULT_PER_USER_LIMIT = 1
DEFAULT_MAX_CONCURRENT = 8
DEFAULT_REDIS_START_WAIT_SECONDS = 60
# Failed GitHub requests one refresh may make before it gives up (`gitbrag.github.budget`): a
# healthy refresh makes none; under a total outage a refresh sends at most this many requests.
DEFAULT_RETRIES_PER_REFRESH = 20
_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)
# What a token may hold: it travels in a header, so no space, control or non-ASCII character.
_TOKEN_RE = re.compile(r"^[\x21-\x7e]+$")
# A host name to listen on (RFC 1123 labels), when it is not an IP address.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GITBRAG_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # GitHub. The token may be a comma-separated pool; it is kept in memory only.
    github_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("GITBRAG_GITHUB_TOKEN", "GITHUB_TOKEN")
    )
    github_api_url: str = DEFAULT_API_URL
    github_graphql_url: str | None = None  # derived from github_api_url when unset
    # Requests open at once per token, shared by every refresh of the process (GitHub
    # asks for few concurrent requests and caps them at 100 per account).
    github_max_in_flight: int = Field(default=10, ge=1, le=100)
    # The whole of one request to GitHub (sent, answered, read), however its bytes trickle:
    # GitHub stops its own work after 10 s, so a minute is ample (`client.DEFAULT_REQUEST_DEADLINE`).
    github_request_deadline_seconds: float = Field(default=60.0, gt=0, le=3600)
    # One answer's decoded size at most (a gzip bomb stops there): 32 MiB, ten times GitHub's
    # largest real answers (`client.DEFAULT_MAX_RESPONSE_BYTES`).
    github_max_response_bytes: int = Field(default=32 * 1024 * 1024, ge=1024, le=2**30)
    # Failed requests (timeouts, 5xx, dropped connections) one user's refresh may make in a pass
    # before it fails ("gave up after N retries this pass"), plus one per two answered requests.
    github_retries_per_refresh: int = Field(default=DEFAULT_RETRIES_PER_REFRESH, ge=1, le=10_000)
    # Work in private repositories: "off" (left out), "counts" (numbers only), "full".
    private: PrivateMode = "off"

    # Where things live.
    site_dir: Path = Path("site")
    state_path: Path = Path(".gitbrag/state.sqlite3")
    templates_dir: Path | None = None
    redis_url: str | None = None
    base_url: str | None = None  # public URL of the site, for sitemap and canonical links

    # What to refresh and when. An entry may carry the user's own time zone: "alice@Europe/Berlin"
    # (`user_timezones`); `users` holds the logins alone.
    users: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Where calendar days, weeks, months and years begin for the reports (an IANA name).
    timezone: str = DEFAULT_TIMEZONE
    # Repositories left out of every report ("owner/repo", "owner/*", globs, "login:owner/repo";
    # `gitbrag.report.exclude`), and languages left out of the language charts.
    exclude: Annotated[list[str], NoDecode] = Field(default_factory=list)
    exclude_languages: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # What reports cover: periods beside the rolling ones and the calendar years with activity
    # ("2026", "2026-H1", "2026-Q3", "2026-03-01..2026-08-31"; `gitbrag.periods`), and globs of
    # files that count as generated, beside Linguist's (`gitbrag.report.languages.is_generated`).
    periods: Annotated[list[str], NoDecode] = Field(default_factory=list)
    generated_paths: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Teams: "platform=alice,bob;web=dave,org:octo-org" -> team pages under site/teams/
    # (`gitbrag.report.teams`); `org:NAME` members stay as written here, resolved by each refresh pass.
    teams: Annotated[dict[str, list[str]], NoDecode] = Field(default_factory=dict)
    # Every number has a range: a huge one would overflow a date or never come round.
    stale_after_seconds: int = Field(default=DEFAULT_STALE_AFTER_SECONDS, ge=1, le=365 * DAY)

    # Coordination (claims, the service).
    task_ttl_seconds: int = Field(default=DEFAULT_TASK_TTL_SECONDS, ge=1, le=DAY)
    per_user_limit: int = Field(default=DEFAULT_PER_USER_LIMIT, ge=1, le=100)
    scan_interval_seconds: int = Field(default=300, ge=1, le=DAY)
    max_concurrent: int = Field(default=DEFAULT_MAX_CONCURRENT, ge=1, le=256)
    # GraphQL points a pass may spend (a workflow's GITHUB_TOKEN has 1,000 an hour): it stops
    # claiming, ends star walks at a page boundary, and defers the rest (`github.points`). None: no budget.
    budget_points: int | None = Field(default=None, ge=1, le=10_000_000)
    # How long a start waits for a Redis that accepts the connection but is slow to answer
    # (a big save, someone's KEYS *) before calling it "not Redis" (exit 2).
    redis_start_wait_seconds: int = Field(default=DEFAULT_REDIS_START_WAIT_SECONDS, ge=1, le=3600)

    # The refresh hook, served by `gitbrag-refresh` (the service).
    hook_host: str = "127.0.0.1"
    hook_port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port (logged)
    hook_secret: SecretStr | None = None  # Bearer token / webhook HMAC key; never logged
    hook_public_url: str | None = None  # where browsers reach the hook; enables "Refresh now"
    allow_new_users: bool = True  # with the secret, may the hook add untracked users?
    force_cooldown_seconds: int = Field(default=60, ge=0, le=DAY)  # per user, between forced refreshes

    # Logging.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # The users' own time zones from `GITBRAG_USERS` ("alice@Europe/Berlin"), by lower-cased login.
    _user_timezones: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("users", "periods", "generated_paths", "exclude", "exclude_languages", mode="before")
    @classmethod
    def _split_users(cls, value: object) -> object:
        if isinstance(value, str):
            return [u.strip() for u in value.split(",") if u.strip()]
        return value

    @field_validator(
        "github_token", "github_graphql_url", "templates_dir", "redis_url", "base_url", "hook_public_url",
        "hook_secret", mode="before",
    )  # fmt: skip
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`GITBRAG_REDIS_URL=` (compose files, `.env` templates) means "not set"."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("site_dir", "state_path", mode="before")
    @classmethod
    def _not_empty(cls, value: object) -> object:
        """An empty path is the current folder: the site would be published (and swept)
        over the working directory, the store would be a folder."""
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("github_api_url", "github_graphql_url", "hook_public_url", "base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        try:
            _HTTP_URL.validate_python(value)
        except ValidationError:
            raise ValueError("must be an http:// or https:// URL with a host (and a valid port)") from None
        return value.rstrip("/")

    @field_validator("users")
    @classmethod
    def _logins(cls, value: list[str]) -> list[str]:
        """A name that is not a GitHub login can never be refreshed, a zone that is not one
        would fail every refresh of the user: say so at start."""
        zones: dict[str, str] = {}
        for number, entry in enumerate(value, start=1):
            login, at, zone = entry.partition("@")
            if not is_login(login):  # a login is no secret: shown, so the typo is seen
                raise ValueError(f"entry #{number} ({login!r}) is not a GitHub username")
            if at:
                try:
                    check_timezone(zone)
                except ValueError as exc:
                    raise ValueError(f"entry #{number}: {exc}") from None
                if zones.setdefault(Login(login), zone) != zone:
                    raise ValueError(f"entry #{number}: {login} is given two time zones")
        return value

    @model_validator(mode="after")
    def _user_zones(self) -> Self:
        """`login@Zone` entries: the logins stay in `users` (what every door tracks), the
        zones go to `user_timezones`."""
        logins: list[str] = []
        for entry in self.users:
            login, at, zone = entry.partition("@")
            logins.append(login)
            if at:
                self._user_timezones[Login(login)] = zone
        self.users = logins
        return self

    @property
    def user_timezones(self) -> dict[str, str]:
        """The users' own time zones (`login@Zone` in `GITBRAG_USERS`), by lower-cased login."""
        return dict(self._user_timezones)

    @field_validator("timezone", mode="before")
    @classmethod
    def _timezone(cls, value: object) -> object:
        """`GITBRAG_TIMEZONE=` (a compose file passing it on unset) means the default, UTC."""
        if isinstance(value, str):
            return check_timezone(value.strip() or DEFAULT_TIMEZONE)
        return value

    @field_validator("exclude")
    @classmethod
    def _exclusions(cls, value: list[str]) -> list[str]:
        """A pattern that cannot match would publish what the operator meant to hide: refuse it."""
        _each(value, parse_exclusion)
        return list(dict.fromkeys(value))

    @field_validator("exclude_languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(_each(value, check_language)))

    @field_validator("teams", mode="before")
    @classmethod
    def _teams(cls, value: object) -> object:
        """Parsed and checked at start (`gitbrag.report.teams.parse_teams`): a typo would otherwise
        publish a team page of "not yet published" members, silently."""
        from gitbrag.report.teams import parse_teams

        return parse_teams(value, LOGIN_RE) if isinstance(value, str) else value

    @field_validator("periods")
    @classmethod
    def _periods(cls, value: list[str]) -> list[str]:
        """A period that cannot be parsed would fail every refresh: say which, and what is accepted."""
        _each(value, parse_period)
        return list(dict.fromkeys(value))

    @field_validator("generated_paths")
    @classmethod
    def _globs(cls, value: list[str]) -> list[str]:
        _each(value, check_glob)
        return value

    @field_validator("hook_host")
    @classmethod
    def _host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not _HOSTNAME_RE.fullmatch(value):
                raise ValueError("must be an IP address or a host name") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None:
            check_redis_url(value)
        return value

    @field_validator("github_token")
    @classmethod
    def _token_pool(cls, value: SecretStr | None) -> SecretStr | None:
        """A token with a space or a control character would fail every request, far from
        here; the message names its position, never the value."""
        if value is None:
            return None
        tokens = [t.strip() for t in value.get_secret_value().split(",")]
        for number, token in enumerate(tokens, start=1):
            if token and not _TOKEN_RE.fullmatch(token):
                raise ValueError(f"token #{number} of {len(tokens)} holds a character no token has")
        return value

    @property
    def graphql_url(self) -> str:
        """GitHub.com serves GraphQL at /graphql; GitHub Enterprise at /api/graphql."""
        if self.github_graphql_url:
            return self.github_graphql_url
        base = self.github_api_url
        if base.endswith("/api/v3"):
            return base[: -len("/v3")] + "/graphql"
        return base + "/graphql"

    def secrets(self) -> list[str]:
        """Every secret value, for the log filter that keeps them out of log lines."""
        hook = [self.hook_secret.get_secret_value()] if self.hook_secret else []
        return self.tokens() + hook

    def tokens(self) -> list[str]:
        """The token pool, in the order configured."""
        if self.github_token is None:
            return []
        return [t.strip() for t in self.github_token.get_secret_value().split(",") if t.strip()]


def _each(entries: list[str], check: Callable[[str], T]) -> list[T]:
    """Each entry of a list setting checked, in order; the first refused one is named by its
    position (`entry #3: ...`), so the one line that stops the start points at it."""
    found = []
    for number, entry in enumerate(entries, start=1):
        try:
            found.append(check(entry))
        except ValueError as exc:
            raise ValueError(f"entry #{number}: {exc}") from None
    return found


def check_redis_url(url: str) -> None:
    """redis-py's own parser decides the scheme, port and query; it ignores a database
    that is not a number (`redis://h/abc` would silently use 0), so that is checked here.
    Messages never hold the URL: it may carry a password."""
    if "cluster" in urlsplit(url).scheme.lower():  # redis+cluster://, rediss+cluster://
        raise ValueError(
            "Redis Cluster is not supported: point it at a single Redis primary (redis://host[:port][/db])"
        )
    try:
        redis_url_parts(url)
        parts = urlsplit(url)
    except ValueError:
        raise ValueError(
            "must be a redis://, rediss:// or unix:// URL (redis://[user:password@]host[:port][/db])"
        ) from None
    if parts.scheme in ("redis", "rediss"):
        if not parts.hostname:
            raise ValueError("needs a host: redis://host[:port][/db]")
        db = parts.path.strip("/")
        if db and not db.isdigit():
            raise ValueError("the database (the URL's path) must be a number, as in redis://host:6379/0")


def check_paths(settings: Settings) -> None:
    """What the file system says about the configured paths, checked before anything is
    created: the site folder can be made (or is a folder), the state file is a file in a
    folder that can be made and is not published inside the site, the templates folder
    exists. Raises `ConfigError` naming the first bad variable; leaves nothing behind."""
    problems = [_creatable_dir("GITBRAG_SITE_DIR", settings.site_dir)]
    if settings.templates_dir is not None and not settings.templates_dir.is_dir():
        problems.append("GITBRAG_TEMPLATES_DIR: not an existing folder")
    if not settings.redis_url:  # with Redis the state file is not used
        problems.append(_state_file_problem(settings.state_path, settings.site_dir))
    found = [p for p in problems if p]
    if found:
        raise ConfigError("invalid configuration: " + "; ".join(found))


def _state_file_problem(path: Path, site_dir: Path) -> str | None:
    name = "GITBRAG_STATE_PATH"
    if path.is_dir():
        return f"{name}: is a folder; it must name the SQLite file (e.g. .gitbrag/state.sqlite3)"
    if path.exists() and not path.is_file():
        return f"{name}: not a regular file"
    if path.resolve().is_relative_to(site_dir.resolve()):
        return f"{name}: inside GITBRAG_SITE_DIR, where it would be published"
    return None if path.exists() else _creatable_dir(name, path.parent)


def _creatable_dir(name: str, path: Path) -> str | None:
    """None when `path` is a folder, or could be made: its nearest existing ancestor is a
    folder in which a folder can really be made (a probe, removed at once: only trying
    tells /proc, a read-only mount or a wrong owner from a usable place)."""
    if path.is_dir():
        return None
    ancestor = path.absolute()
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{name}: {ancestor} is not a folder"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".gitbrag-probe-", dir=ancestor))
    except OSError as exc:
        return f"{name}: cannot create it in {ancestor}: {exc.strerror or exc}"
    return None


def load_settings(**overrides: object) -> Settings:
    """Load settings, turning validation errors into one readable `ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper()
            if name and not name.startswith("GITBRAG_") and name != "GITHUB_TOKEN":
                name = "GITBRAG_" + name
            # Never echo the offending value: it could be a secret.
            problems.append(f"{name}: {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


# GITBRAG_* variables that are not settings of gitbrag itself but of its tooling
# (deploy/verify-image.sh, the screenshot test): never warned about.
_TOOLING_VARIABLES = frozenset({"GITBRAG_IMAGE", "GITBRAG_DEBIAN_MIRROR", "GITBRAG_UPDATE_SCREENSHOTS"})


def setting_names() -> list[str]:
    """Every variable a setting is read from (`GITBRAG_USERS`, ..., and `GITHUB_TOKEN`)."""
    names: list[str] = []
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names += [str(choice) for choice in alias.choices]
        else:
            names.append(f"GITBRAG_{name.upper()}")
    return names


def unknown_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> list[str]:
    """One warning per `GITBRAG_*` variable, in the environment or `env_file`, that is no setting,
    naming the closest setting: pydantic-settings ignores unknown variables, so a misspelled
    `GITBRAG_USER=...` would otherwise make a run that tracks nobody and says nothing."""
    known = setting_names()
    found = [*(os.environ if environ is None else environ), *_dotenv_names(env_file)]
    warnings = []
    for variable in dict.fromkeys(found):
        upper = variable.upper()
        if not upper.startswith("GITBRAG_") or upper in known or upper in _TOOLING_VARIABLES:
            continue
        close = difflib.get_close_matches(upper, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else " (gitbrag ignores it; see the README's settings)"
        warnings.append(f"{variable} is not a setting{hint}")
    return warnings


def _dotenv_names(env_file: Path | None) -> list[str]:
    """The variables `env_file` sets, as written, parsed by python-dotenv as pydantic-settings
    parses it (nothing when absent or unreadable: loading the settings reports that)."""
    if env_file is None or not env_file.is_file():
        return []
    try:
        return list(dotenv_values(env_file, encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return []
