"""The pipeline examples under examples/ci: valid for their CI system, clean under zizmor, built
the way a real repository needs, and running the same hookctl command sequence this test runs
against the local sandbox in a repository that holds only stacks/: validate with no secrets, the
environment matrix, the tests with no secrets, a saved plan, show it, apply exactly it, and a drift
check that exits 0 once applied."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from provisioner.sandbox.run import Sandbox
from tests.conftest import REPO

from .helpers import hookctl_path

EXAMPLES = REPO / "examples" / "ci"
GITHUB = EXAMPLES / "github-actions.yml"
GITLAB = EXAMPLES / "gitlab-ci.yml"
SEQUENCE = [
    "hookctl validate",
    "hookctl environments --json",
    'hookctl test -s "$STACK" --junit test-results.xml',
    'hookctl plan -s "$STACK" --out plan.hookctl --markdown --detailed-exitcode > plan.md',
    "hookctl show plan.hookctl",
    "hookctl apply plan.hookctl",
]


def _tool(name: str) -> str:
    found = shutil.which(name, path=os.path.dirname(sys.executable))
    assert found, f"{name} is not installed: pip install -e '.[dev]'"
    return found


def _hookctl_commands(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in re.finditer(r"(hookctl (?:validate|environments|test|plan|show|apply)\b[^;\n|)]*)", line):
            command = match.group(1).split("  #")[0].strip()
            found.append(command)
    return found


def _load(path: Path) -> dict:  # type: ignore[type-arg]
    return YAML(typ="safe").load(path.read_text())


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_examples__use_exactly_the_tested_sequence(path: Path) -> None:
    assert sorted(set(_hookctl_commands(path.read_text()))) == sorted(SEQUENCE)


@pytest.mark.parametrize(
    ("path", "schema"), [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")], ids=["github", "gitlab"]
)
def test_examples__valid_against_the_ci_schema(path: Path, schema: str) -> None:
    # check-jsonschema's bundled copies of the SchemaStore schemas: no network.
    checked = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", schema, str(path)], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_github_example__zizmor_offline_reports_nothing(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "NO_COLOR": "1"}
    audited = subprocess.run(
        [_tool("zizmor"), "--offline", "--format", "json", str(GITHUB)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    findings = json.loads(audited.stdout or "[]")
    assert audited.returncode == 0 and findings == [], json.dumps(findings, indent=2)[:4000] + audited.stderr


def test_github_example__built_for_a_repository_holding_only_stacks() -> None:
    workflow = _load(GITHUB)
    text = GITHUB.read_text()
    assert "pip install ." not in text  # would install the user's repository, not hookctl
    assert re.search(r'pip install "hookctl==\$\{HOOKCTL_VERSION\}"', text)
    assert re.fullmatch(r"\d+\.\d+\.\d+", workflow["env"]["HOOKCTL_VERSION"])
    assert "concurrency" not in workflow  # workflow-level concurrency could cancel a pending apply
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, name
        assert set(job["permissions"]) <= {"contents", "id-token", "pull-requests"}, name
        for step in job["steps"]:
            uses = step.get("uses")
            if uses:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses), uses  # pinned to a commit
            if uses and uses.startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            if uses and uses.startswith("actions/setup-python@"):
                assert step["with"]["cache"] == "pip", name
    jobs = workflow["jobs"]
    assert "fromJSON(needs.validate.outputs.matrix)" in str(jobs["plan"]["strategy"]["matrix"])
    assert "hookctl environments --json" in str(jobs["validate"]["steps"])
    assert jobs["apply"]["concurrency"]["cancel-in-progress"] is False
    assert "matrix.environment" in jobs["apply"]["concurrency"]["group"]
    assert jobs["plan"]["concurrency"]["group"] != jobs["apply"]["concurrency"]["group"]
    assert any("actions/cache@" in str(s.get("uses")) for s in jobs["plan"]["steps"])  # build cache
    # The tests run with no secret and no credential at all.
    assert "secrets." not in json.dumps(jobs["test"]) and "id-token" not in jobs["test"]["permissions"]
    # Pull-request plans use the read-only role and client; only apply uses the writing ones.
    assert "hookctl-plan" in json.dumps(jobs["plan"]) and "PLAN_CLIENT" in json.dumps(jobs["plan"])
    assert "APPLY" not in json.dumps(jobs["plan"])
    assert "hookctl show plan.hookctl" in json.dumps(jobs["apply"])
    assert "GITHUB_STEP_SUMMARY" in json.dumps(jobs["plan"])  # the approver reads the plan there


def test_gitlab_example__note_matrix_and_queued_applies() -> None:
    pipeline = _load(GITLAB)
    text = GITLAB.read_text()
    assert "pip install ." not in text and 'pip install "hookctl==${HOOKCTL_VERSION}"' in text
    assert "merge_requests/$PARENT_MERGE_REQUEST_IID/notes" in text  # the merge-request note
    assert pipeline[".hookctl-apply"]["resource_group"] == "hookctl-apply-$HOOKCTL_ENV"
    assert "resource_group" not in pipeline[".hookctl-plan"]  # merge-request plans never hold up an apply
    assert pipeline["default"]["cache"]
    assert "environment" not in pipeline[".hookctl-test"]  # no environment-scoped credentials reach the tests
    # The matrix is generated: the parent runs the child pipeline the `environments` job wrote.
    trigger = pipeline["hookctl-environments"]
    assert trigger["trigger"]["include"] == [{"artifact": "environments.gitlab-ci.yml", "job": "environments"}]
    assert trigger["trigger"]["strategy"] == "depend" and trigger["needs"] == ["environments"]
    assert trigger["variables"]["PARENT_PIPELINE_SOURCE"] == "$CI_PIPELINE_SOURCE"
    assert not {"test", "plan", "apply", ".environments"} & set(pipeline)  # no hand-written matrix


def test_gitlab_example__child_pipeline_from_hookctl_environments(tmp_path: Path) -> None:
    """The example's `environments` job, run on the example stacks, writes a valid child pipeline whose
    matrix is `hookctl environments --json`, and follows the stacks when an environment is added."""
    shutil.copytree(REPO / "stacks", tmp_path / "stacks", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    for other in ("auth0-registration.yaml", "cognito-signup.yaml"):
        (tmp_path / "stacks" / other).unlink()
    shutil.copy(GITLAB, tmp_path / ".gitlab-ci.yml")
    script = "\n".join(_load(GITLAB)["environments"]["script"])
    env = {"PATH": f"{Path(hookctl_path()).parent}:/usr/bin:/bin", "NO_COLOR": "1"}
    child_path = tmp_path / "environments.gitlab-ci.yml"

    def generate() -> dict:  # type: ignore[type-arg]
        child_path.unlink(missing_ok=True)
        ran = subprocess.run(
            ["bash", "-ec", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        return _load(child_path)

    child = generate()
    assert child[".environments"]["parallel"]["matrix"] == [
        {"STACK": "stacks/example.yaml", "HOOKCTL_ENV": ["sandbox", "prod"]}
    ]
    assert child["stages"] == ["check", "plan", "apply"]
    assert child["apply"]["extends"] == [".environments", ".aws-oidc", ".hookctl-apply"]
    assert child[".hookctl-apply"] == _load(GITLAB)[".hookctl-apply"]
    checked = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(child_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    example = tmp_path / "stacks" / "example.yaml"
    example.write_text(example.read_text().replace("  prod:\n", "  staging: {inherit: sandbox}\n  prod:\n", 1))
    assert generate()[".environments"]["parallel"]["matrix"] == [
        {"STACK": "stacks/example.yaml", "HOOKCTL_ENV": ["sandbox", "staging", "prod"]}
    ]


def test_examples_sequence__against_the_sandbox(tmp_path: Path) -> None:
    # A repository holding only stacks/, as the examples assume.
    shutil.copytree(REPO / "stacks", tmp_path / "stacks", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    base = {
        "PATH": f"{Path(hookctl_path()).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "STACK": "stacks/example.yaml",
        "HOOKCTL_ENV": "sandbox",
        "NO_COLOR": "1",
    }

    def sh(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
        )

    # The jobs without secrets: validate, the matrix, the tests.
    validated = sh(SEQUENCE[0], base)
    assert validated.returncode == 0, validated.stderr
    rows = json.loads(sh(SEQUENCE[1], base).stdout)
    assert {"stack_path": "stacks/example.yaml", "environment": "sandbox"}.items() <= rows[-2].items()
    tested = sh(SEQUENCE[2], base)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert (tmp_path / "test-results.xml").exists()
    with Sandbox() as box:
        env = {
            **base,
            **box.environment(),
            "HOOKCTL_STATE": str(tmp_path / "state"),
            "SLACK_WEBHOOK_URL": "https://hooks.slack.invalid/ci",
        }
        planned = sh(SEQUENCE[3], env)
        assert planned.returncode == 2, planned.stderr
        markdown = (tmp_path / "plan.md").read_text()
        assert markdown.startswith("### hookctl plan: `example` / `sandbox`")
        assert "hooks.slack.invalid" not in markdown
        shown = sh(SEQUENCE[4], base)  # the approver's view needs no credentials
        assert shown.returncode == 0 and "Plan: 10 to create, 2 to update" in shown.stdout, shown.stdout + shown.stderr
        applied = sh(SEQUENCE[5], env)
        assert applied.returncode == 0, applied.stderr
        assert "created" in applied.stdout
        stale = sh(SEQUENCE[5], env)  # the same plan again: the live state has moved on
        assert stale.returncode == 1 and "changed since the plan was made" in stale.stderr
        drift = sh('hookctl plan -s "$STACK" --detailed-exitcode', env)
        assert drift.returncode == 0, drift.stdout + drift.stderr
