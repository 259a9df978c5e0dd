"""Golden files: what `hookctl plan` prints for every example stack, in text, --json and --markdown.

Each stack in stacks/ is planned against a fresh sandbox three times, each in the three formats: the
first plan (everything to create), the plan after an apply and one changed variable (an update with
its code diff), and `plan --destroy`. The output must match tests/golden/plans/ byte for byte, except
the values the sandbox makes up on each start (the Auth0 emulator's address, its ids and moto's
pool ids, the test's folder), which are replaced by fixed names before comparing. The test drives the installed
`hookctl` command only, so a change in hookctl's insides (issue 15's move into packages) cannot
change what it checks.

Regenerate after an intended output change: HOOKCTL_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/golden
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import hookctl_path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "plans"
UPDATE = os.environ.get("HOOKCTL_UPDATE_GOLDEN") == "1"
STACKS = sorted(p.stem for p in (REPO / "stacks").glob("*.yaml") if not p.name.endswith(".tests.yaml"))
# One variable changed after the apply, per stack: (old text, new text) in the stack file.
EDITS = {
    "auth0-registration": ('"#signups-sandbox"', '"#signups-staging"'),
    "cognito-signup": ("- partner.example\n", "- partners.example\n"),
    "example": ('"#signups-sandbox"', '"#signups-staging"'),
}
FORMATS = {"text": [], "json": ["--json"], "markdown": ["--markdown"]}
SUFFIX = {"text": "txt", "json": "json", "markdown": "md"}
SECRET = "https://hooks.slack.invalid/services/GOLDEN/PLAN"


def test_every_example_stack_has_an_edit() -> None:
    assert sorted(EDITS) == STACKS


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`hookctl sandbox` in the background, as a user starts it; yields its exports."""
    home = tmp_path_factory.mktemp("sandbox")
    env_file = home / "sandbox.env"
    env = _base_env(home)
    box = subprocess.Popen(
        [hookctl_path(), "sandbox", "--env-file", str(env_file)],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (env_file.exists() and env_file.read_text().endswith("\n")):
            assert box.poll() is None, box.stderr.read() if box.stderr else "the sandbox exited"
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.1)
        exports = {}
        for line in env_file.read_text().splitlines():
            if line.startswith("export "):
                key, _, value = line[len("export ") :].partition("=")
                exports[key] = shlex.split(value)[0]
        yield {**env, **exports}
    finally:
        box.send_signal(signal.SIGTERM)
        box.communicate(timeout=120)


def _base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKCTL_", "AUTH0_", "AWS_"))}
    env.update(
        NO_COLOR="1",
        HOME=str(home),
        HOOKCTL_SANDBOX_TIME_SCALE="0.02",  # the modelled IAM and Lambda delays, shortened
        COLUMNS="100",
    )
    return env


def _hookctl(args: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> str:
    proc = subprocess.run(
        [hookctl_path(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode in ok, f"hookctl {' '.join(args)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


VOLATILE = re.compile(r'"(created_at|digest_key_id|fingerprint|expected_last_modified|expected_digest)": "[^"]*"')
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _stable(text: str, env: dict[str, str], known: dict[str, str]) -> str:
    """The output with what the sandbox makes up on each start replaced by fixed names.

    The emulator's address, moto's pool ids, a secret's ARN and the test's folder are known exactly;
    the emulator's ids (actions, versions, bindings) are uuid4s, numbered in order of first appearance.
    """
    for value, name in {**known, env["AUTH0_DOMAIN"]: "<auth0-domain>"}.items():
        text = text.replace(value, name)
    for variable in ("HOOKCTL_SANDBOX_POOL_ID", "HOOKCTL_SANDBOX_POOL_ID_2", "HOOKCTL_SANDBOX_POOL_ID_3"):
        text = text.replace(env[variable], f"<{variable}>")
    # A plan's time, its digest key's id (a key made per state), the fingerprint of the live systems
    # it read (ids included) and a pool's last-modified time and digest differ on every run by design.
    text = VOLATILE.sub(lambda m: f'"{m.group(1)}": "<{m.group(1)}>"', text)
    numbers: dict[str, str] = {}
    return UUID.sub(lambda m: numbers.setdefault(m.group(0), f"<id-{len(numbers) + 1}>"), text)


@pytest.mark.parametrize("stack", STACKS)
def test_plan_output__matches_golden_files(stack: str, sandbox: dict[str, str], tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(REPO / "stacks", work / "stacks", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    shutil.copytree(REPO / "templates", work / "templates", ignore=shutil.ignore_patterns("__pycache__"))
    state_dir = tmp_path / "state"
    env = {
        **sandbox,
        "HOOKCTL_STATE_DIR": str(state_dir),
        "HOOKCTL_BUILD_DIR": str(tmp_path / "build"),
        "SLACK_WEBHOOK_URL": SECRET,
    }
    path = f"stacks/{stack}.yaml"
    target = ["-s", path, "-e", "sandbox"]
    outputs: dict[str, str] = {}
    known = {str(tmp_path): "<tmp>"}

    def plans(phase: str, *extra: str) -> None:
        for fmt, flags in FORMATS.items():
            outputs[f"{stack}.{phase}.{SUFFIX[fmt]}"] = _hookctl(["plan", *target, *extra, *flags], work, env)

    if stack == "cognito-signup":  # its webhook URL lives in Secrets Manager, as the stack file says
        import boto3

        made = boto3.client(
            "secretsmanager",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=env["AWS_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        ).create_secret(Name="hookctl/sandbox/crm-webhook", SecretString=json.dumps({"url": SECRET}))
        known[made["ARN"]] = "<crm-webhook-secret-arn>"  # Secrets Manager adds 6 random characters
    plans("first")
    _hookctl(["apply", *target, "--auto-approve"], work, env)
    stack_file = work / path
    old, new = EDITS[stack]
    assert old in stack_file.read_text(), f"the edit for {stack} no longer applies"
    stack_file.write_text(stack_file.read_text().replace(old, new))
    plans("update")
    plans("destroy", "--destroy")
    _hookctl(["destroy", *target, "--auto-approve"], work, env)

    for name, raw in outputs.items():
        text = _stable(raw, env, known)
        assert SECRET not in text
        if name.endswith(".json"):
            json.loads(text)
        golden = GOLDEN / name
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text)
            continue
        assert golden.exists(), f"no golden file {golden.name}: run with HOOKCTL_UPDATE_GOLDEN=1 to write it"
        assert text == golden.read_text(), f"{name} differs from {golden.relative_to(REPO)}"
