"""The same Cognito plan applied one operation at a time and ten at a time gives the same result."""

from __future__ import annotations

import json
from typing import Any

import pytest

from provisioner.engine.pipeline import Planned, apply_plan

from .world import World

STACK = """
    stack: par
    environments:
      dev:
        cognito:
          region: eu-west-1
          pools: {{main: {main}, partners: {partners}}}
    cognito:
      functions:
        signup:
          template: cognito/pre-sign-up/auto-confirm-domain.py.j2
          runtime: python3.13
          vars: {{domains: [example.com]}}
          triggers:
            - {{pool: main, trigger: PreSignUp}}
            - {{pool: partners, trigger: PreSignUp}}
        sign-in:
          template: cognito/post-authentication/log-sign-in.mjs.j2
          runtime: nodejs22.x
          triggers:
            - {{pool: main, trigger: PostAuthentication}}
        short-names:
          template: cognito/pre-sign-up/reject-short-username.py.j2
          runtime: python3.12
          vars: {{min_length: 4}}
          triggers:
            - {{pool: partners, trigger: PostAuthentication}}
    """


def _live(aws: World, pools: dict[str, str]) -> dict[str, Any]:
    functions = sorted(f for f in aws.function_names() if f.startswith("par-dev-"))
    return {
        "functions": functions,
        "roles": sorted(r["RoleName"] for r in aws.iam.list_roles()["Roles"] if r["RoleName"].startswith("par-dev-")),
        "triggers": {name: aws.lambda_config(pool_id) for name, pool_id in pools.items()},
        "permissions": {
            f: sorted(json.dumps(s["Condition"], sort_keys=True) for s in aws.statements(f)) for f in functions
        },
    }


def _apply(aws: World, planned: Planned, parallelism: int) -> None:
    apply_plan(planned, None, aws.options(parallelism=parallelism))


@pytest.mark.managed_policies
def test_same_plan__parallelism_1_and_10__identical_live_result_and_state(aws: World) -> None:
    pools = {"main": aws.pool("main"), "partners": aws.pool("partners")}
    aws.write_stack(STACK.format(**pools))
    results = []
    for parallelism in (1, 10):
        planned = aws.plan()
        _apply(aws, planned, parallelism)
        assert aws.plan().plan.empty
        state = planned.backend.read()
        results.append((_live(aws, pools), {a: sorted(e.items()) for a, e in sorted(state.resources.items())}))
        destroy = aws.plan(destroy=True)
        _apply(aws, destroy, 10)  # parallel destroy: detach, then delete, then the roles
        assert _live(aws, pools)["functions"] == []
        assert all(config == {} for config in _live(aws, pools)["triggers"].values())
    assert results[0] == results[1]
    assert len(results[0][0]["functions"]) == 3
