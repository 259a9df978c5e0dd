"""No secret value ever leaves hookctl except towards the provider that needs it.

Every offline command runs with distinctive secret values (two in the environment, one in a
secret file): validate, render, plan as text / JSON / Markdown with ``--out``, apply, apply
PLANFILE, state show, and forced failures (a stale plan, a secret rotated between plan and
apply, a template error in an entry that has secrets, a missing second secret, a provider write
that fails, a build directory that cannot be created, a plan file tampered to move a secret into
a plain field), each with and without ``--debug``. Then everything written is scanned: stdout,
stderr, plan files, state, build directories, rendered handlers, the fake provider's store and
any other file under the working directory (inside zip files too), for each value as is,
URL-encoded, JSON-escaped and base64-encoded (at every byte alignment). Zero hits.

The fake provider (``HOOKCTL_FAKE_STORE``) receives the resolved values and keeps only their
hashes, so its store is scanned like any other file.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import urllib.parse
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.helpers import hookctl_path

SLACK = "https://hooks.slack.test/services/T0LEAK/B0LEAK/LeakEnvValue+7f3a/9=Qx"
WEBHOOK = "fn-secret-LeakFnValue_5c2b1&token=Zz9 with space"
FILE_SECRET = "file-secret:LeakFileValue/Q9w8e7?r=1&ü"
ROTATED = "rotated-LeakRotatedValue-44d1e0/+="
VALUES = (SLACK, WEBHOOK, FILE_SECRET, ROTATED)
SECRET_FILE = "secrets/api-token.txt"

STACK = """\
stack: leaks
vars:
  channel: "#general"
environments:
  dev:
    auth0:
      domain: dev.example.auth0.com
    cognito:
      region: eu-west-1
      pools:
        main: eu-west-1_AbC123
    vars:
      min_length: 5
auth0:
  actions:
    notify:
      trigger: post-user-registration
      template: auth0/notify.js.j2
      dependencies:
        "@slack/webhook": 7.0.2
      secrets:
        SLACK_WEBHOOK_URL:
          env: HOOKCTL_LEAK_SLACK
        API_TOKEN:
          file: secrets/api-token.txt
cognito:
  functions:
    signup:
      template: cognito/signup.mjs.j2
      runtime: nodejs22.x
      trigger: PreSignUp
      secrets:
        WEBHOOK_URL:
          env: HOOKCTL_LEAK_WEBHOOK
"""
NOTIFY = """\
exports.onExecutePostUserRegistration = async (event, api) => {
  const names = {{ hookctl.secrets | js }};
  const channel = {{ channel | js }};
  console.log(channel, names.map((n) => Boolean(event.secrets[n])));
};
"""
SIGNUP = """\
export const handler = async (event) => {
  event.response.autoConfirmUser = event.userName.length >= {{ min_length }};
  return event;
};
"""
TARGET = ["-s", "stack.yaml", "-e", "dev"]


@dataclass
class Run:
    args: list[str]
    code: int
    out: str
    err: str


class Workdir:
    """One stack directory, its fake provider store, and every command run in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "templates" / "auth0").mkdir(parents=True)
        (root / "templates" / "cognito").mkdir(parents=True)
        (root / "templates" / "auth0" / "notify.js.j2").write_text(NOTIFY)
        (root / "templates" / "cognito" / "signup.mjs.j2").write_text(SIGNUP)
        (root / "stack.yaml").write_text(STACK)
        (root / "secrets").mkdir()
        (root / SECRET_FILE).write_text(FILE_SECRET + "\n", encoding="utf-8")
        self.env = {"HOOKCTL_LEAK_SLACK": SLACK, "HOOKCTL_LEAK_WEBHOOK": WEBHOOK}
        self.store = root / "live.json"
        (root / ".home").mkdir()
        (root / ".tmp").mkdir()
        self.runs: list[Run] = []

    def hk(self, *args: str, expect: int | None = 0, **env: str) -> Run:
        full = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKCTL_", "AUTH0_", "AWS_"))}
        full.update({"NO_COLOR": "1", "HOOKCTL_FAKE_STORE": str(self.store), **self.env, **env})
        # Anything written to a home or temporary directory lands under root too, and is scanned.
        full.update({"HOME": str(self.root / ".home"), "TMPDIR": str(self.root / ".tmp")})
        proc = subprocess.run(
            [hookctl_path(), *args], cwd=self.root, env=full, capture_output=True, text=True, timeout=120
        )
        run = Run(list(args), proc.returncode, proc.stdout, proc.stderr)
        self.runs.append(run)
        if expect is not None:
            assert run.code == expect, f"{args}: exit {run.code}\n{run.err}"
        return run

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.root / name
        text = path.read_text()
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1))


# -- the scan --------------------------------------------------------------------------------


def encodings(value: str) -> dict[str, bytes]:
    """The value as it could appear in a file or output, by name of the encoding."""
    raw = value.encode("utf-8")
    forms = {
        "raw": raw,
        "url": urllib.parse.quote(value, safe="").encode(),
        "url-plus": urllib.parse.quote_plus(value).encode(),
        "url-path": urllib.parse.quote(value).encode(),
        "json": json.dumps(value)[1:-1].encode(),
        "json-ascii": json.dumps(value, ensure_ascii=True)[1:-1].encode(),
    }
    # base64 of a value embedded in a longer blob depends on its offset mod 3: for each offset,
    # keep only the characters that encode the value's bytes alone.
    for offset in range(3):
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            text = encode(b"\0" * offset + raw + b"\0\0\0")
            start = -(-offset * 4 // 3)  # ceil: the first characters also carry the padding bytes
            end = (offset + len(raw)) * 4 // 3  # floor: the last ones also carry what follows
            forms[f"{name}@{offset}"] = text[start:end]
    return forms


PATTERNS = {(value, name): form for value in VALUES for name, form in encodings(value).items()}


def blobs(root: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under root (zip members opened), except the secret file itself."""
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path == root / SECRET_FILE:
            continue
        data = path.read_bytes()
        yield str(path.relative_to(root)), data
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for member in zf.namelist():
                    yield f"{path.relative_to(root)}!{member}", zf.read(member)


def leaks(work: Workdir) -> list[str]:
    found = []
    places = [(f"stdout of {r.args}", r.out.encode()) for r in work.runs]
    places += [(f"stderr of {r.args}", r.err.encode()) for r in work.runs]
    places += list(blobs(work.root))
    for where, data in places:
        for (value, name), form in PATTERNS.items():
            if form and form in data:
                found.append(f"{value!r} ({name}) in {where}")
    return found


def test_scan__finds_each_encoding_it_looks_for(tmp_path: Path) -> None:
    """The scanner itself: a planted value is found as is, encoded, and inside a zip."""
    work = Workdir(tmp_path)
    prefix = b"some leading bytes: "
    for offset in range(3):
        blob = prefix[:offset] + SLACK.encode() + b" trailing"
        (tmp_path / f"b64-{offset}.txt").write_bytes(base64.b64encode(blob))
    (tmp_path / "url.txt").write_text(urllib.parse.quote(WEBHOOK, safe=""))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("index.mjs", "const x = " + json.dumps(ROTATED) + ";")
    (tmp_path / "build.zip").write_bytes(buffer.getvalue())
    found = "\n".join(leaks(work))
    assert "b64-0.txt" in found and "b64-1.txt" in found and "b64-2.txt" in found
    assert "url.txt" in found
    assert "build.zip!index.mjs" in found
    assert FILE_SECRET not in found  # the secret file itself is not a leak


# -- the scenarios --------------------------------------------------------------------------------


def happy_path(work: Workdir) -> None:
    work.hk("--debug", "validate", *TARGET)
    work.hk("render", *TARGET, "-o", "rendered")
    work.hk("plan", *TARGET, "--out", "plan-text.json")
    work.hk("plan", *TARGET, "--json", "--out", "plan-json.json")
    work.hk("plan", *TARGET, "--markdown", "--out", "plan-md.json")
    work.hk("--debug", "plan", *TARGET, "--detailed-exitcode", expect=2)
    work.hk("--debug", "apply", "plan-json.json")
    work.hk("state", "show", *TARGET)
    work.hk("plan", *TARGET, "--detailed-exitcode", expect=0)
    # A rotated secret: the plan says "changed", never what to.
    rotated = work.hk("plan", *TARGET, "--out", "plan-rotated.json", HOOKCTL_LEAK_SLACK=ROTATED)
    assert "(sensitive) (changed)" in rotated.out
    work.hk("apply", "plan-rotated.json", HOOKCTL_LEAK_SLACK=ROTATED)
    work.hk("apply", *TARGET, "--auto-approve")  # and back again, planned and applied in one go
    work.hk("--debug", "state", "show", *TARGET)
    assert work.store.exists()


def stale_plans(work: Workdir) -> None:
    work.hk("plan", *TARGET, "--out", "stale.json")
    work.hk("apply", *TARGET, "--auto-approve")
    for debug in ([], ["--debug"]):
        run = work.hk(*debug, "apply", "stale.json", expect=1)
        assert "live systems changed since the plan was made" in run.err
    # A fresh plan, but the secret it would send changed since the plan was saved.
    work.edit("stack.yaml", 'channel: "#general"', 'channel: "#alerts"')
    work.hk("plan", *TARGET, "--out", "fresh.json")
    for debug in ([], ["--debug"]):
        run = work.hk(*debug, "apply", "fresh.json", expect=1, HOOKCTL_LEAK_SLACK=ROTATED)
        assert "secret SLACK_WEBHOOK_URL of auth0.action.notify changed since the plan was made" in run.err


def template_error_in_entry_with_secrets(work: Workdir) -> None:
    work.edit("templates/auth0/notify.js.j2", "{{ channel | js }}", "{{ channel | js }} + {{ no_such_var | js }}")
    for args in (["--debug", "validate", *TARGET], ["plan", *TARGET], ["--debug", "apply", *TARGET, "--auto-approve"]):
        run = work.hk(*args, expect=1)
        assert "auth0.actions.notify.vars.no_such_var: undefined variable" in run.err
    work.edit("templates/auth0/notify.js.j2", "{{ no_such_var | js }}", "{{ channel }}")  # bare string output
    run = work.hk("--debug", "plan", *TARGET, expect=1)
    assert "must pass through the 'js' filter" in run.err
    assert not work.store.exists()


def missing_second_secret(work: Workdir) -> None:
    (work.root / SECRET_FILE).unlink()
    validate = ["validate", *TARGET, "--check-secrets"]  # validate reads secret sources only when asked
    for args in (validate, ["--debug", "plan", *TARGET], ["--debug", "apply", *TARGET, "--auto-approve"]):
        run = work.hk(*args, expect=1)
        assert "auth0.actions.notify.secrets.API_TOKEN.file: cannot read secret file" in run.err
    run = work.hk("--debug", "plan", *TARGET, expect=1, HOOKCTL_LEAK_WEBHOOK="")
    assert "environment variable HOOKCTL_LEAK_WEBHOOK is not set" in run.err
    assert not work.store.exists()


def provider_and_build_failures(work: Workdir) -> None:
    blocked = str(work.root / "stack.yaml" / "live.json")  # a store under a file: every write fails
    for debug in ([], ["--debug"]):
        run = work.hk(*debug, "apply", *TARGET, "--auto-approve", expect=1, HOOKCTL_FAKE_STORE=blocked)
        assert "\nError: Create auth0.action.notify: " in run.err
    (work.root / "not-a-dir").write_text("")
    for debug in ([], ["--debug"]):
        run = work.hk(*debug, "plan", *TARGET, expect=1, HOOKCTL_BUILD_DIR=str(work.root / "not-a-dir" / "build"))
        assert "\nError: " in "\n" + run.err  # what it says is package.py's concern; here: nothing leaks


def tampered_plan_moves_a_secret(work: Workdir) -> None:
    """A plan file edited to put a secret placeholder into a plain field is refused."""
    work.hk("plan", *TARGET, "--out", "plan.json")
    doc = json.loads((work.root / "plan.json").read_text())
    put = next(op for op in doc["operations"] if op["params"].get("secrets"))
    placeholder = next(iter(put["params"]["secrets"].values()))
    put["params"]["doc"]["description"] = placeholder  # would store the value in plain text
    (work.root / "plan.json").write_text(json.dumps(doc))
    index = doc["operations"].index(put)
    for debug in ([], ["--debug"]):
        run = work.hk(*debug, "apply", "plan.json", expect=1)
        assert f"Error: plan.json: operations[{index}].params.doc.description: secret " in run.err
    assert not work.store.exists()


SCENARIOS: list[Callable[[Workdir], None]] = [
    happy_path,
    stale_plans,
    template_error_in_entry_with_secrets,
    missing_second_secret,
    provider_and_build_failures,
    tampered_plan_moves_a_secret,
]


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Workdir, BaseException | None]]:
    """Every scenario, two at a time (each in its own directory); a failed one keeps its error."""
    works = {s.__name__: Workdir(tmp_path_factory.mktemp(s.__name__)) for s in SCENARIOS}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {s.__name__: pool.submit(s, works[s.__name__]) for s in SCENARIOS}
        return {name: (works[name], future.exception()) for name, future in futures.items()}


@pytest.mark.parametrize("scenario", [s.__name__ for s in SCENARIOS])
def test_secrets__scenario__runs_as_expected_and_leaks_nothing(
    scenario: str, worked: dict[str, tuple[Workdir, BaseException | None]]
) -> None:
    work, error = worked[scenario]
    if error is not None:
        raise error
    assert work.runs, "the scenario ran no command"
    found = leaks(work)
    assert not found, "secret values leaked:\n" + "\n".join(found[:50])
