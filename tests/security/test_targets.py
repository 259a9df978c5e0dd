"""Target fields: ``${NAME}`` reads only names the stack cannot widen, and the Auth0 domain,
region and pool ids are checked before any use (issue 11, items 2 and 6)."""

from __future__ import annotations

import json
import textwrap

import pytest

from .harness import AUTH0_SECRET, CANARY, Listener, PullRequest

CI_COMMANDS = (
    ("validate", "-s", "stacks/pr.yaml"),
    ("environments", "-s", "stacks/pr.yaml"),
    ("environments", "-s", "stacks/pr.yaml", "--json"),
    ("plan", "-s", "stacks/pr.yaml", "-e", "ci", "--markdown", "--out", "plan.hookctl"),
    ("plan", "-s", "stacks/pr.yaml", "-e", "ci", "--json", "--out", "plan2.hookctl"),
)


def _stack(pr: PullRequest, environment: str, *, cognito: bool = False) -> None:
    body = (
        """
        cognito:
          functions:
            hello:
              template: cognito/pre-sign-up/auto-confirm-all.mjs.j2
              runtime: nodejs22.x
              trigger: PreSignUp
        """
        if cognito
        else """
        auth0:
          actions:
            hello:
              trigger: pre-user-registration
              template: auth0/pre-user-registration/deny-tls-fingerprints.js.j2
              vars: {ja3: [], ja4: []}
        """
    )
    pr.write("stacks/pr.yaml", "stack: pr\nenvironments:\n  ci:\n" + environment + textwrap.dedent(body))


def _run_ci(pr: PullRequest) -> list[str]:
    errors = []
    for args in CI_COMMANDS:
        run = pr.hk(*args)
        assert run.code == 1, f"{args}: exit {run.code}\n{run.all}"
        assert "internal error" not in run.err.lower()
        errors.append(run.err)
    return errors


@pytest.mark.parametrize("name", ["AUTH0_CLIENT_SECRET", "AWS_SECRET_ACCESS_KEY", "SLACK_WEBHOOK_URL"])
def test_pool_id__reads_a_runner_secret__refused_and_never_echoed(pr: PullRequest, name: str) -> None:
    _stack(pr, f'    cognito:\n      region: eu-west-1\n      pools: {{main: "${{{name}}}"}}\n', cognito=True)
    for err in _run_ci(pr):
        assert f"${{{name}}} may not be read" in err
        assert "stacks/pr.yaml:6: environments.ci.cognito.pools.main" in err
    pr.assert_clean()


def test_region__reads_a_runner_secret_with_a_default__refused(pr: PullRequest) -> None:
    _stack(pr, '    cognito:\n      region: "${AWS_SECRET_ACCESS_KEY:-eu-west-1}"\n      pools: {}\n', cognito=True)
    for err in _run_ci(pr):
        assert "${AWS_SECRET_ACCESS_KEY} may not be read" in err
    pr.assert_clean()


def test_region__allowed_name_holding_no_region__refused_without_the_value(pr: PullRequest) -> None:
    # Even an allowed name's value is checked before it reaches DNS, and is not printed.
    pr.env["HOOKCTL_VAR_REGION"] = f"{CANARY}.example.com"
    _stack(pr, '    cognito:\n      region: "${HOOKCTL_VAR_REGION}"\n      pools: {}\n', cognito=True)
    for err in _run_ci(pr):
        assert "environments.ci.cognito.region: expected an AWS region name like eu-west-1, got the value" in err
    pr.assert_clean()


def test_allow_list__set_by_the_job__widens_substitution(pr: PullRequest) -> None:
    """The list lives in the job's environment (outside the repository), so a stack cannot widen it."""
    _stack(pr, '    cognito:\n      region: "${CI_REGION}"\n      pools: {main: "${CI_POOL:-eu-west-1_Def1}"}\n')
    refused = pr.hk("environments", "-s", "stacks/pr.yaml", CI_REGION="eu-central-1")
    assert refused.code == 1 and "${CI_REGION} may not be read" in refused.err
    job = {"CI_REGION": "eu-central-1", "HOOKCTL_ALLOW_VARS": "CI_REGION, CI_POOL"}
    allowed = pr.hk("environments", "-s", "stacks/pr.yaml", "--json", **job)
    assert allowed.code == 0, allowed.err
    assert '"cognito_region": "eu-central-1"' in allowed.out
    assert '"main": "eu-west-1_Def1"' in allowed.out
    pr.assert_clean()


@pytest.mark.parametrize(
    "domain",
    [
        "exampleco.us.auth0.com@127.0.0.1:{port}",
        "127.0.0.1:{port}/exampleco.us.auth0.com",
        "127.0.0.1:{port}?exampleco.us.auth0.com",
        "127.0.0.1:{port}#exampleco.us.auth0.com",
        "https://user:pw@127.0.0.1:{port}",
        "127.0.0.1:{port}\n",
        "exampleco.us.auth0.com:99999",
    ],
)
def test_auth0_domain__not_a_hostname_and_port__refused_before_any_connection(
    pr: PullRequest, listener: Listener, domain: str
) -> None:
    value = domain.format(port=listener.port)
    _stack(pr, f"    auth0:\n      domain: {json.dumps(value)}\n")
    for args in CI_COMMANDS:
        run = pr.hk(*args)
        assert run.code == 1, f"{args}: {run.all}"
        assert "environments.ci.auth0.domain: expected a hostname with an optional port" in run.err
    assert listener.connections == 0
    pr.assert_clean()


def test_auth0_domain__exported_by_the_job_malformed__refused_before_any_connection(
    pr: PullRequest, listener: Listener
) -> None:
    _stack(pr, "    auth0: {}\n")
    run = pr.hk(
        "plan", "-s", "stacks/pr.yaml", "-e", "ci", AUTH0_DOMAIN=f"exampleco.us.auth0.com@127.0.0.1:{listener.port}"
    )
    assert run.code == 1
    assert "AUTH0_DOMAIN is not a hostname with an optional port" in run.err
    assert listener.connections == 0
    pr.assert_clean()


def test_auth0_domain__from_an_allowed_variable__checked_too(pr: PullRequest, listener: Listener) -> None:
    pr.env["HOOKCTL_VAR_TENANT"] = f"{AUTH0_SECRET}@127.0.0.1:{listener.port}"
    _stack(pr, '    auth0:\n      domain: "${HOOKCTL_VAR_TENANT}"\n')
    for err in _run_ci(pr):
        assert "environments.ci.auth0.domain: expected a hostname with an optional port" in err
    assert listener.connections == 0
    pr.assert_clean()
