"""`action.yml` run the way a GitHub runner runs a composite action, and both YAML files
checked against SchemaStore's published schemas (issue 28).

The emulator reads action.yml and plays its steps in order: each `run:` step with `bash`
(`shell: bash`), its `${{ inputs.* }}`, `${{ github.* }}`, `${{ steps.ID.outputs.* }}` and
`${{ runner.* }}` expressions substituted as the runner does, in the step's `env:` too, with
GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_ACTION_PATH (the repository root), RUNNER_TEMP,
GITHUB_WORKSPACE and INPUT_* set; `actions/cache/restore` and `actions/cache/save` are played
by copying the state folder from and to a cache folder kept between runs, by key (restored
from the newest key with the prefix); `actions/setup-python` is skipped (Python is there).
The step that installs gitbrag (`pip install "$GITHUB_ACTION_PATH"`) is replaced by the
package already installed in this environment, whose `bin` leads the PATH: installing it
three times would take longer than the rest. Every other step runs as written.

The world: the demo dataset with two of Mona-Lisa's repositories grown into giants, so that
a first pass costs more than a workflow token's 1,000 points (~1,040 unbudgeted).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.population import _star_times
from gitbrag.fakegithub.records import CompactStars, Dataset
from gitbrag.fakegithub.server import FakeGitHubServer
from tests.test_expected_reports import actual_report, expected_periods, expected_report, ts, window

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = Path(__file__).parent / "data" / "schemastore"
BUDGET = 1000
TOKEN = "ghs_action_test_token_5e2a"
# Stars in all and a day lately: ~95,000 and ~85,000 in the last five years, ~1,000 pages.
GIANTS = {"octo-org/brave-lint": (200_000, 100.0), "octo-org/neon-cli": (160_000, 80.0)}
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def _yaml(path: Path) -> dict[str, Any]:
    """The file as a runner reads it: `on` is a key, not YAML 1.1's boolean true."""
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    if True in data:
        data["on"] = data.pop(True)
    return data


def _validator(name: str) -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    return jsonschema.Draft7Validator(schema)


def test_action_and_example_workflow_validate_against_schemastore() -> None:
    action, workflow = _yaml(ROOT / "action.yml"), _yaml(ROOT / "examples" / "github-pages.yml")
    for validator, data, name in (
        (_validator("github-action.json"), action, "action.yml"),
        (_validator("github-workflow.json"), workflow, "github-pages.yml"),
    ):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
        assert not errors, (name, errors)
    # The schemas do bite: an action without `runs`, a workflow job without `runs-on`.
    assert list(
        _validator("github-action.json").iter_errors({k: v for k, v in action.items() if k != "runs"})
    )
    broken = json.loads(json.dumps(workflow))
    del broken["jobs"]["publish"]["runs-on"]
    assert list(_validator("github-workflow.json").iter_errors(broken))
    # What the issue names: the inputs, the outputs, the Pages steps and their permissions.
    assert set(action["inputs"]) == {
        "users",
        "teams",
        "periods",
        "token",
        "base-url",
        "site-dir",
        "budget",
        "private",
    }
    assert action["inputs"]["token"]["default"] == "${{ github.token }}"
    assert action["inputs"]["site-dir"]["default"] == "site"
    assert set(action["outputs"]) == {"site-dir", "refreshed", "failed", "deferred"}
    assert {"schedule", "workflow_dispatch"} <= set(workflow["on"])
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    uses = [s.get("uses", "") for s in workflow["jobs"]["publish"]["steps"]]
    assert [u.split("@")[0] for u in uses] == [
        "actions/checkout", "OWNER/gitbrag", "actions/upload-pages-artifact", "actions/deploy-pages",
    ]  # fmt: skip
    assert workflow["jobs"]["publish"]["environment"]["name"] == "github-pages"


# --- the runner ------------------------------------------------------------------------------


@dataclass
class Runner:
    """One job's worth of a runner: a fresh workspace per run, a cache that outlives runs."""

    root: Path
    github: dict[str, str]
    cache: Path = field(init=False)
    runs: int = 0

    def __post_init__(self) -> None:
        self.cache = self.root / "actions-cache"
        self.cache.mkdir()

    def run(self, inputs: dict[str, str]) -> Run:
        self.runs += 1
        run = Run(self, self.root / f"run-{self.runs}", run_id=str(1000 + self.runs), inputs=inputs)
        run.play(_yaml(ROOT / "action.yml"))
        return run


@dataclass
class Run:
    runner: Runner
    folder: Path
    run_id: str
    inputs: dict[str, str]
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # by step id
    logs: list[str] = field(default_factory=list)
    restored: str | None = None

    def __post_init__(self) -> None:
        self.workspace = self.folder / "workspace"
        self.temp = self.folder / "temp"
        self.workspace.mkdir(parents=True)
        self.temp.mkdir()
        self.summary_file = self.temp / "step_summary.md"
        self.summary_file.touch()

    def play(self, action: dict[str, Any]) -> None:
        inputs = {
            name: self.inputs.get(name, spec.get("default", "")) for name, spec in action["inputs"].items()
        }
        self.inputs = {k: self._expand(str(v), inputs) for k, v in inputs.items()}
        failed = False
        for step in action["runs"]["steps"]:
            if failed and "always()" not in str(step.get("if", "")):
                continue
            failed = not self._step(step) or failed
        assert not failed, "\n".join(self.logs)[-4000:]
        self.action_outputs = {name: self._expand(spec["value"]) for name, spec in action["outputs"].items()}

    def _context(self, name: str, inputs: dict[str, str] | None = None) -> str:
        scope, _, rest = name.partition(".")
        if scope == "inputs":
            return (inputs or self.inputs).get(rest, "")
        if scope == "github":
            return {"run_id": self.run_id, "workspace": str(self.workspace), **self.runner.github}.get(
                rest, ""
            )
        if scope == "runner":
            return {"temp": str(self.temp)}.get(rest, "")
        if scope == "steps":
            step, _, output = rest.partition(".outputs.")
            return self.outputs.get(step, {}).get(output, "")
        raise AssertionError(f"the emulator does not know ${{{{ {name} }}}}")

    def _expand(self, text: str, inputs: dict[str, str] | None = None) -> str:
        return EXPRESSION.sub(lambda m: self._context(m.group(1), inputs), text)

    def _step(self, step: dict[str, Any]) -> bool:
        uses = step.get("uses")
        if uses is not None:
            return self._uses(uses, {k: self._expand(str(v)) for k, v in step.get("with", {}).items()})
        assert step.get("shell") == "bash", step
        script = self._expand(step["run"])
        if "pip install" in script and "$GITHUB_ACTION_PATH" in script:
            self.logs.append("(install step: the installed package stands in)")
            return True
        output_file = self.temp / f"output-{len(self.logs)}"
        output_file.touch()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITBRAG_", "GITHUB_", "INPUT_"))}
        env |= {f"INPUT_{k.upper()}": v for k, v in self.inputs.items()}
        env |= {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(self.summary_file),
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_WORKSPACE": str(self.workspace),
            "RUNNER_TEMP": str(self.temp),
            "CI": "true",
        }
        env |= {k: self._expand(str(v)) for k, v in step.get("env", {}).items()}
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=self.workspace, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        self.logs.append(f"$ {step.get('name')}\n{done.stdout}{done.stderr}")
        if "id" in step:
            self.outputs[step["id"]] = dict(
                line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line
            )
        return done.returncode == 0

    def _uses(self, uses: str, given: dict[str, str]) -> bool:
        name = uses.split("@")[0]
        if name == "actions/setup-python":
            return True
        state = self.workspace / given["path"]
        if name == "actions/cache/restore":
            keys = [given["key"], *given.get("restore-keys", "").split()]
            saved = sorted(self.runner.cache.iterdir(), key=lambda p: p.stat().st_mtime_ns, reverse=True)
            for key in keys:
                match = next((p for p in saved if p.name == key or p.name.startswith(key)), None)
                if match is not None:
                    shutil.copytree(match, state)
                    self.restored = match.name
                    break
            return True
        if name == "actions/cache/save":
            assert not (self.runner.cache / given["key"]).exists(), "a cache key is written once"
            shutil.copytree(state, self.runner.cache / given["key"])
            return True
        raise AssertionError(f"the emulator does not play {uses}")

    @property
    def site(self) -> Path:
        return self.workspace / self.action_outputs["site-dir"]


# --- the world -----------------------------------------------------------------------------


def giant_world() -> Dataset:
    dataset = build_dataset()
    rng = random.Random("action giants")
    for name, (total, per_day) in GIANTS.items():
        repo = dataset.repos[name]
        repo.stars = CompactStars(
            _star_times(rng, repo.created_at, dataset.anchor, total, per_day), salt=repo.id
        )
    return dataset


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(giant_world()) as server:
        yield server


def _points(fake: FakeGitHubServer) -> int:
    return int(httpx.get(fake.url + "/_fake/stats", timeout=30).json()["graphql_points"])


def _assert_site_equals_dataset(site: Path, data: dict[str, Any], users: list[str]) -> int:
    """Every user's every period (rolling and calendar years) as the dataset implies it."""
    checked = 0
    for login in users:
        folder = site / login.lower()
        now = ts(json.loads((folder / "1_year" / "report.json").read_text())["generated_at"])
        assert now is not None
        for period in expected_periods(data, login, now, []):
            report = json.loads((folder / period / "report.json").read_text())
            assert not report["stars_pending"], (login, period)
            expected = expected_report(data, login, *window(period, now), period, now)
            actual = actual_report(report)
            top = actual.pop("languages_top")
            assert actual.pop("languages") == dict(Counter(expected.pop("languages")).most_common(top))
            assert actual == expected, (login, period)
            checked += 1
    return checked


def test_three_scheduled_runs_on_a_1000_point_budget_publish_the_whole_dataset(
    tmp_path: Path, fake: FakeGitHubServer
) -> None:
    users = fake.dataset.demo_users
    runner = Runner(
        tmp_path,
        github={"token": TOKEN, "api_url": fake.url, "graphql_url": fake.url + "/graphql"},
    )
    inputs = {"users": ",".join(users), "budget": str(BUDGET)}
    spent: list[int] = []
    runs: list[Run] = []
    for _ in range(3):
        before = _points(fake)
        run = runner.run(inputs)
        spent.append(_points(fake) - before)
        runs.append(run)
        summary = run.summary_file.read_text()
        outputs = run.action_outputs
        # The pass's own summary line, and the action's outputs and job summary agree with it.
        line = next(x for x in "\n".join(run.logs).splitlines() if x.startswith("refreshed="))
        counts = dict(pair.split("=") for pair in line.split())
        assert list(counts) == ["refreshed", "skipped", "failed", "deferred"]
        assert {k: outputs[k] for k in ("refreshed", "failed", "deferred")} == {
            k: counts[k] for k in ("refreshed", "failed", "deferred")
        }
        assert outputs["site-dir"] == "site"
        assert (
            f"refreshed: {counts['refreshed']} · failed: {counts['failed']} · deferred: {counts['deferred']}"
            in summary
        )
        assert f"GraphQL points spent: {spent[-1]:,} ·" in summary  # measured at the fake: the same
        assert f"left: {5000 - sum(spent):,}" in summary  # the fake's tokens have 5,000 an hour
        for login in users:
            assert f"| {login} |" in summary, (login, summary)
        assert TOKEN not in "\n".join(run.logs) + summary
    assert all(points <= BUDGET for points in spent), spent
    assert sum(spent) > BUDGET  # the world does not fit one run: the budget did the work
    assert [r.restored for r in runs] == [None, "gitbrag-state-1001", "gitbrag-state-1002"]
    # The first run published everything; where Mona-Lisa's giants' walks had not reached back
    # yet (5 years; the last year was walked), their stars are marked as still being counted.
    first = json.loads((runs[0].site / "mona-lisa" / "5_years" / "report.json").read_text())
    assert first["stars_pending"] and first["total_star_increase"] is None and first["total_prs"] > 0
    pending = [r for r in first["repositories"] if r["stars_pending"]]
    assert pending and all(r["star_increase"] is None for r in pending)
    assert "stars still being counted" in (runs[0].site / "mona-lisa" / "5_years" / "index.html").read_text()
    assert "stars still being counted" in (runs[0].site / "mona-lisa" / "5_years" / "brag.md").read_text()
    # The third run's site is complete and equals the dataset.
    data = httpx.get(fake.url + "/_fake/dataset", timeout=60).json()
    assert _assert_site_equals_dataset(runs[2].site, data, users) >= 4 * len(users)
    assert runs[2].action_outputs["failed"] == "0" and runs[2].action_outputs["deferred"] == "0"
    print("points per run:", spent, "at", datetime.now().isoformat())
