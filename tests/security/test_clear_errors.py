"""Inputs that used to crash hookctl are clear errors (issue 11, item 10): a non-UTF-8 secret
file, a state whose ``resources`` is malformed, a full disk while writing state, names ending
in a newline, and function names that differ only in case."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest

from provisioner.engine.errors import HookctlError
from provisioner.engine.execute import Executor
from provisioner.engine.plan import Operation, Plan
from provisioner.engine.state import LocalBackend, State, StateWriteError

from .harness import CANARY, PullRequest

ACTION_STACK = """\
stack: errs
environments:
  ci:
    auth0: {domain: exampleco.us.auth0.com}
auth0:
  actions:
    notify:
      trigger: post-user-registration
      template: auth0/post-user-registration/slack-notify.js.j2
      vars: {channel: "#signups", prefix: "New User: "}
      dependencies: {"@slack/webhook": "8.0.2"}
      secrets:
        SLACK_WEBHOOK_URL: {file: webhook.txt}
"""


def test_secret_file__not_utf8__clear_error_without_its_bytes(pr: PullRequest) -> None:
    pr.write("stacks/errs.yaml", ACTION_STACK)
    (pr.root / "stacks/webhook.txt").write_bytes(CANARY.encode() + b"\xff\xfe" + CANARY.encode())
    # validate reads local secret sources only when asked (--check-secrets); plan always does.
    for args in (
        ("validate", "-s", "stacks/errs.yaml", "--check-secrets"),
        ("plan", "-s", "stacks/errs.yaml", "--out", "p.hookctl"),
    ):
        run = pr.hk(*args, HOOKCTL_FAKE_STORE=str(pr.root / "live.json"))
        assert run.code == 1, run.all
        assert "secret file webhook.txt is not UTF-8 text (invalid byte at offset 29)" in run.err
        assert "internal error" not in run.err.lower() and "Traceback" not in run.err
    os.remove(pr.root / "stacks/webhook.txt")  # the runner's file, not something hookctl wrote
    pr.assert_clean()


@pytest.mark.parametrize("resources", [[], "x", {"auth0.action.a": "not an object"}, {"a": [1]}])
def test_state__malformed_resources__clear_error(pr: PullRequest, resources: Any) -> None:
    pr.write("stacks/errs.yaml", ACTION_STACK)
    (pr.root / "stacks/webhook.txt").write_text("https://hooks.example/x\n")
    state = pr.root / ".hookctl/state/errs/ci.json"
    state.parent.mkdir(parents=True)
    document = {"format": "hookctl-state", "format_version": 1, "stack": "errs", "environment": "ci"}
    state.write_text(json.dumps({**document, "salt": "s", "serial": 1, "resources": resources}))
    run = pr.hk("plan", "-s", "stacks/errs.yaml", HOOKCTL_FAKE_STORE=str(pr.root / "live.json"))
    assert run.code == 1
    assert f"{state.relative_to(pr.root)}: `resources` is not a mapping of resource addresses to objects" in run.err
    assert "internal error" not in run.err.lower()


def test_state_write__disk_full__temp_file_removed_old_state_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = LocalBackend(str(tmp_path), "s", "e")
    state = backend.read()
    state.patch("a.b", {"id": "1"})
    backend.write(state)
    before = Path(backend.path).read_bytes()

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    state.patch("a.c", {"id": "2"})
    with pytest.raises(StateWriteError, match=r"cannot write state .*: No space left on device"):
        backend.write(state)
    assert sorted(os.listdir(backend.dir)) == ["e.json"]  # no temporary file left behind
    assert Path(backend.path).read_bytes() == before
    assert state.serial == 1  # the serial of what is on disk


class _Client:
    OPERATIONS = frozenset({"make"})

    def make(self, name: str) -> dict[str, str]:
        return {"id": name}


def test_apply__state_cannot_be_written__says_what_was_applied_but_not_recorded() -> None:
    ops = (
        Operation("a", "p", "make", {"name": "x"}, "Create x", "p.x", record={"p.x": {"id": "x"}}),
        Operation("b", "p", "make", {"name": "y"}, "Create y", "p.y", record={"p.y": {"id": "y"}}),
    )
    saves: list[int] = []

    def save(_state: State) -> None:
        saves.append(1)
        if len(saves) == 2:
            raise StateWriteError("cannot write state st.json: No space left on device")

    with pytest.raises(HookctlError) as caught:
        Executor({"p": _Client()}, State("s", "e"), {}, save=save).run(Plan("s", "e", "r", "f", (), ops))
    assert caught.value.message == (
        "cannot write state st.json: No space left on device. Applied but not recorded in the state: Create y "
        "(recorded before it: Create x)"
    )


@pytest.mark.parametrize(
    ("where", "stack"),
    [
        ("stack", 'stack: "errs\\n"\nenvironments: {ci: {auth0: {}}}\n'),
        ("environments", 'stack: errs\nenvironments: {"ci\\n": {auth0: {}}}\n'),
        (
            "auth0.actions",
            'stack: errs\nenvironments: {ci: {auth0: {}}}\nauth0:\n  actions:\n    "hello\\n":\n'
            "      trigger: post-login\n      template: auth0/x.js.j2\n",
        ),
    ],
)
def test_names__ending_in_a_newline__refused(pr: PullRequest, where: str, stack: str) -> None:
    pr.write("stacks/errs.yaml", stack)
    run = pr.hk("validate", "-s", "stacks/errs.yaml")
    assert run.code == 1
    assert "names are 1-64 letters, digits, '.', '_' or '-'" in run.err, run.err


def test_functions__names_differing_only_in_case__refused(pr: PullRequest) -> None:
    function = "      template: cognito/pre-sign-up/auto-confirm-all.mjs.j2\n      runtime: nodejs22.x\n"
    pr.write(
        "stacks/errs.yaml",
        "stack: errs\nenvironments: {ci: {cognito: {region: eu-west-1, pools: {main: eu-west-1_AbC123}}}}\n"
        "cognito:\n  functions:\n"
        f"    fn:\n{function}      trigger: PreSignUp\n"
        f"    FN:\n{function}      trigger: PostConfirmation\n",
    )
    run = pr.hk("validate", "-s", "stacks/errs.yaml")
    assert run.code == 1
    assert "cognito.functions.FN: function 'FN' differs from 'fn' only in case" in run.err
