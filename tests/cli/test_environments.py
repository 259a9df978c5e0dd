"""Many environments: `plan --all-environments` and `environments --json`."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import run

THREE = """\
stack: fleet
vars: {channel: "#x", retries: 1}
environments:
  dev: {auth0: {domain: dev.example.auth0.com}}
  staging: {inherit: dev, auth0: {domain: staging.example.auth0.com}, vars: {retries: 2}}
  prod: {inherit: staging, auth0: {domain: prod.example.auth0.com}, vars: {retries: 3}}
auth0:
  actions:
    notify:
      trigger: post-user-registration
      template: auth0/hello.js.j2
"""


def _env(stack_dir: Path) -> dict[str, str]:
    return {"HOOKCTL_FAKE_STORE": str(stack_dir / "live.json"), "HOOKCTL_BUILD_DIR": str(stack_dir / ".build")}


def test_plan_all_environments__three_planned_with_one_summary(stack_dir: Path) -> None:
    (stack_dir / "fleet.yaml").write_text(THREE)
    env = _env(stack_dir)
    assert run(["apply", "-s", "fleet.yaml", "-e", "staging", "--auto-approve"], stack_dir, env).code == 0
    result = run(["plan", "-s", "fleet.yaml", "--all-environments", "--detailed-exitcode"], stack_dir, env)
    assert result.code == 2, result.err
    summary = result.out[result.out.index("Summary:") :]
    assert "dev: Plan: 2 to create" in summary
    assert "staging: No changes." in summary
    assert "prod: Plan: 2 to create" in summary
    as_json = json.loads(run(["plan", "-s", "fleet.yaml", "--all-environments", "--json"], stack_dir, env).out)
    assert sorted(as_json) == ["dev", "prod", "staging"]
    assert as_json["staging"]["operations"] == []


def test_environments_json__lists_each_for_a_ci_matrix(stack_dir: Path) -> None:
    (stack_dir / "fleet.yaml").write_text(THREE)
    result = run(["environments", "-s", "fleet.yaml", "--json"], stack_dir, _env(stack_dir))
    rows = json.loads(result.out)
    assert [(r["environment"], r["auth0_domain"]) for r in rows] == [
        ("dev", "dev.example.auth0.com"),
        ("staging", "staging.example.auth0.com"),
        ("prod", "prod.example.auth0.com"),
    ]
