"""Configuration from the environment (prefix `GITBRAG_`) and an optional `.env` file.

Invalid values are rejected when settings are loaded, naming the variable, so a
misconfigured cron job fails at once with a one-line message rather than halfway
through a pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gitbrag.models import PrivateMode

DEFAULT_API_URL = "https://api.github.com"


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
    # Work in private repositories: "off" (left out), "counts" (numbers only), "full".
    private: PrivateMode = "off"

    # Where things live.
    site_dir: Path = Path("site")
    state_path: Path = Path(".gitbrag/state.sqlite3")
    templates_dir: Path | None = None
    redis_url: str | None = None
    base_url: str | None = None  # public URL of the site, for sitemap and canonical links

    # What to refresh and when.
    users: Annotated[list[str], NoDecode] = Field(default_factory=list)
    stale_after_seconds: int = Field(default=86400, gt=0)

    # Coordination (claims, the service).
    task_ttl_seconds: int = Field(default=300, gt=0)
    per_user_limit: int = Field(default=1, ge=1)
    scan_interval_seconds: int = Field(default=300, gt=0)
    max_concurrent: int = Field(default=8, ge=1)

    # The refresh hook, served by `gitbrag-refresh` (the service).
    hook_host: str = "127.0.0.1"
    hook_port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port (logged)
    hook_secret: SecretStr | None = None  # Bearer token / webhook HMAC key; never logged
    hook_public_url: str | None = None  # where browsers reach the hook; enables "Refresh now"
    allow_new_users: bool = True  # with the secret, may the hook add untracked users?
    force_cooldown_seconds: int = Field(default=60, ge=0)  # per user, between forced refreshes

    # Logging.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("users", mode="before")
    @classmethod
    def _split_users(cls, value: object) -> object:
        if isinstance(value, str):
            return [u.strip() for u in value.split(",") if u.strip()]
        return value

    @field_validator("github_api_url", "github_graphql_url", "hook_public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

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
