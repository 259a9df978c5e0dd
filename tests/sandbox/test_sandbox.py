"""The local sandbox: loopback only, a seeded pool with settings of its own, saved and restored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from provisioner.sandbox.run import Sandbox

RESTORE = """
import json, sys
from pathlib import Path
from provisioner.sandbox.run import Sandbox
box = Sandbox(state_dir=Path(sys.argv[1])).start()
try:
    pool = box.boto3_client("cognito-idp").describe_user_pool(UserPoolId=box.pool_id)["UserPool"]
    action = box.auth0.tenant.find_action("kept-across-restarts")
    print(json.dumps({"pool_id": box.pool_id, "min_length": pool["Policies"]["PasswordPolicy"]["MinimumLength"],
                      "action": action.name if action else None}))
finally:
    box.stop()
"""


def test_sandbox__binds_loopback_and_seeds_a_pool_with_its_own_settings() -> None:
    with Sandbox() as box:
        env = box.environment()
        assert env["AUTH0_DOMAIN"].startswith("127.0.0.1:")
        assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        pool = box.boto3_client("cognito-idp").describe_user_pool(UserPoolId=box.pool_id)["UserPool"]
        assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
        assert pool["AutoVerifiedAttributes"] == ["email"]
        assert pool["UserPoolTags"]["team"] == "identity"


def test_sandbox__state_dir__comes_back_as_it_was_in_a_new_process(tmp_path: Path) -> None:
    box = Sandbox(state_dir=tmp_path).start()
    box.auth0.tenant.seed_action("kept-across-restarts")  # type: ignore[union-attr]
    pool_id = box.pool_id
    box.stop()
    out = subprocess.run(
        [sys.executable, "-c", RESTORE, str(tmp_path)], capture_output=True, text=True, timeout=120, check=True
    )
    restored = json.loads(out.stdout.strip().splitlines()[-1])
    assert restored == {"pool_id": pool_id, "min_length": 12, "action": "kept-across-restarts"}
