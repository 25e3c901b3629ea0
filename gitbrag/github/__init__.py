"""Talking to GitHub: the rate-limit-aware client and the collection stage built on it."""

from gitbrag.github.client import GitHubClient, RestResponse, Usage
from gitbrag.github.collect import collect_user
from gitbrag.github.errors import (
    AuthError,
    GitHubError,
    GitHubUnavailable,
    NotFound,
    RateLimitError,
    UserNotFound,
)

__all__ = [
    "AuthError",
    "GitHubClient",
    "GitHubError",
    "GitHubUnavailable",
    "NotFound",
    "RateLimitError",
    "RestResponse",
    "Usage",
    "UserNotFound",
    "collect_user",
]
