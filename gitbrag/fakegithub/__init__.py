"""A faithful fake of GitHub's REST and GraphQL APIs, served over real HTTP.

GitHub is unreachable from where gitbrag is developed, so tests, the demo and the
benchmarks run against this fake: `dataset` builds the synthetic history, `rest` and
`graphql_api` serve it, `limits` and `faults` reproduce GitHub's rate limits and bad
days, `app` assembles them and `server` runs them on a loopback port.

The names below are imported lazily, so importing `gitbrag.fakegithub.records` (say)
does not drag in the web server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitbrag.fakegithub.app import FakeConfig, FakeState, create_app
    from gitbrag.fakegithub.dataset import DEMO_SEED, build_dataset, dataset_to_json
    from gitbrag.fakegithub.faults import FaultConfig
    from gitbrag.fakegithub.limits import LimitConfig
    from gitbrag.fakegithub.server import FakeGitHubServer, running_fake, shared_dataset

_EXPORTS = {
    "FakeConfig": "app",
    "FakeState": "app",
    "create_app": "app",
    "DEMO_SEED": "dataset",
    "build_dataset": "dataset",
    "dataset_to_json": "dataset",
    "FaultConfig": "faults",
    "LimitConfig": "limits",
    "FakeGitHubServer": "server",
    "running_fake": "server",
    "shared_dataset": "server",
}
__all__ = [
    "DEMO_SEED",
    "FakeConfig",
    "FakeGitHubServer",
    "FakeState",
    "FaultConfig",
    "LimitConfig",
    "build_dataset",
    "create_app",
    "dataset_to_json",
    "running_fake",
    "shared_dataset",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
