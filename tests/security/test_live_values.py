"""A live Lambda variable is printed only if hookctl itself set it as plain (per state); a pull
request that turns a secret into a plain variable of the same name sees ``(sensitive)``
(issue 11, item 1). Against moto, through the console script."""

from __future__ import annotations

import json
import os

import pytest

from tests.providers.cognito.world import REGION, World

from .harness import STACK_SECRET, PullRequest

STACK = """\
stack: live
environments:
  ci:
    cognito:
      region: {region}
      pools: {{main: {pool}}}
cognito:
  functions:
    hook:
      template: cognito/pre-sign-up/auto-confirm-all.mjs.j2
      runtime: nodejs22.x
      role: {role}
      trigger: PreSignUp
      environment: {{LOG_LEVEL: info}}
{variables}
"""
AS_SECRET = "      secrets:\n        WEBHOOK: {env: SLACK_WEBHOOK_URL}\n"
AS_PLAIN = "      environment: {LOG_LEVEL: info, WEBHOOK: plainvalue}\n"


def _write(pr: PullRequest, pool: str, role: str, variables: str) -> None:
    text = STACK.format(region=REGION, pool=pool, role=role, variables=variables.rstrip("\n"))
    if variables == AS_PLAIN:
        text = text.replace("      environment: {LOG_LEVEL: info}\n", "")
    pr.write("stacks/live.yaml", text)


@pytest.mark.parametrize("runner_state", ["kept", "fresh runner"])
def test_plan__secret_turned_into_a_plain_variable__live_value_shown_as_sensitive(
    pr: PullRequest, aws: World, runner_state: str
) -> None:
    env = {"AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"], "AWS_DEFAULT_REGION": REGION}
    pool, role = aws.pool("main"), aws.role()
    # main: the function is deployed with WEBHOOK as a secret.
    _write(pr, pool, role, AS_SECRET)
    applied = pr.hk("--state-dir", "state", "apply", "-s", "stacks/live.yaml", "--auto-approve", **env)
    assert applied.code == 0, applied.all
    assert aws.configuration("live-ci-hook")["Environment"]["Variables"]["WEBHOOK"] == STACK_SECRET
    # The pull request: the same name as a plain variable.
    _write(pr, pool, role, AS_PLAIN)
    state = "state" if runner_state == "kept" else "fresh-state"
    outputs = []
    for flags in ([], ["--json"], ["--markdown"]):
        run = pr.hk("--state-dir", state, "plan", "-s", "stacks/live.yaml", *flags, "--out", "plan.hookctl", **env)
        assert run.code == 0, run.all
        outputs.append(run.out)
    text, as_json, markdown = outputs
    assert "secrets.WEBHOOK = (sensitive)" in text
    assert '+ environment.WEBHOOK = "plainvalue"' in text or 'environment.WEBHOOK: null -> "plainvalue"' in text
    fields = {f["path"]: f for c in json.loads(as_json)["changes"] for f in c["fields"]}
    assert fields["secrets.WEBHOOK"]["before"] == "(sensitive)"
    assert "(sensitive)" in markdown
    # LOG_LEVEL was set as plain by hookctl (or provably holds the stack's value): no change shown.
    assert "LOG_LEVEL" not in text
    pr.assert_clean()
