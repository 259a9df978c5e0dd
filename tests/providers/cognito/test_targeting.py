"""--target on a pool trigger brings what it depends on: the function, its role, its permission."""

from __future__ import annotations

import pytest

from .world import World


@pytest.mark.managed_policies
def test_target_pool_trigger__includes_function_and_permission_it_needs(aws: World) -> None:
    pool_id = aws.pool()
    second = aws.pool("second")
    aws.write_stack(f"""
        stack: targeted
        environments:
          dev:
            cognito:
              region: eu-west-1
              pools: {{main: {pool_id}, second: {second}}}
        cognito:
          functions:
            confirm:
              template: cognito/pre-sign-up/auto-confirm-all.mjs.j2
              runtime: nodejs22.x
              triggers: [{{pool: main, trigger: PreSignUp}}]
            elsewhere:
              template: cognito/post-authentication/log-sign-in.mjs.j2
              runtime: nodejs22.x
              triggers: [{{pool: second, trigger: PostAuthentication}}]
        """)
    planned = aws.plan(targets=("cognito.pool.main.PreSignUp",))
    addresses = {c.address for c in planned.plan.changes}
    assert {"cognito.pool.main.PreSignUp", "cognito.function.confirm", "cognito.permission.confirm.main"} <= addresses
    assert not any("elsewhere" in a or "second" in a for a in addresses)
    aws.apply(planned)
    assert aws.lambda_config(pool_id).get("PreSignUp", "").endswith(":function:targeted-dev-confirm")
    assert aws.lambda_config(second) == {}
