"""`hookctl import` and `hookctl adopt` end to end, as processes, against the emulator and moto."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from provisioner.cli import main as cli_module

from ..cli.helpers import Result, run
from .conftest import REGION, Live, function_arn

SLACK_URL = "https://hooks.slack.test/services/T0/B0/cli-secret-8d2f"
API_TOKEN = "tok_5a4b3c2d1e0f9a8b7c6d5e4f"

# Until cli.py registers the commands, run the console script's own entry point with exactly the
# registration lines it will carry.
_REGISTERED = "import" in cli_module.cli.commands
_ENTRY = (
    "import sys\n"
    "from provisioner.cli.main import cli, main\n"
    "from provisioner.cli.adopt import adopt_command, import_command\n"
    "cli.add_command(import_command)\n"
    "cli.add_command(adopt_command)\n"
    "main(sys.argv[1:])\n"
)


def hookctl(args: list[str], cwd: Path, env: dict[str, str]) -> Result:
    if _REGISTERED:
        return run(args, cwd, env)
    full = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKCTL_", "AUTH0_"))}
    full.update(NO_COLOR="1", **env)
    proc = subprocess.run(
        [sys.executable, "-c", _ENTRY, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=120
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_cli__import_adopt_plan__empty_plan_and_no_secret_anywhere(tenant: Live, account: Live) -> None:
    live = tenant
    assert live.emu is not None
    t = live.emu.tenant
    hello = t.seed_action("app-hello", "post-login", secrets={"SLACK_URL": SLACK_URL})
    vendor = t.seed_action("vendor", "post-login")
    t.add_binding("post-login", vendor.id)
    t.add_binding("post-login", hello.id)
    pool = live.pool("main")
    live.function(
        "web-prod-signup",
        {"index.mjs": "export const handler = async (e) => e;\n"},
        role=live.role(),
        environment={"API_TOKEN": API_TOKEN, "STAGE": "prod"},
    )
    live.grant("web-prod-signup", pool, "cognito-main")
    live.attach(pool, {"PreSignUp": function_arn("web-prod-signup")})
    env = {
        "AUTH0_DOMAIN": live.emu.domain,
        "AUTH0_CLIENT_ID": live.emu.client_id,
        "AUTH0_CLIENT_SECRET": live.emu.client_secret,
        "SSL_CERT_FILE": str(live.emu.ca_file),
        "AWS_REGION": REGION,
    }
    cwd = live.root
    outputs: list[str] = []

    imported = hookctl(
        [
            "import",
            "-e",
            "prod",
            "--name",
            "web",
            "--auth0",
            "--pool",
            f"main={pool}",
            "--select",
            "app-*",
            "--select",
            "web-prod-*",
        ],
        cwd,
        env,
    )
    outputs.append(imported.all)
    assert imported.code == 0, imported.all
    assert "Imported 1 actions, 1 functions into stacks/web.yaml" in imported.out
    assert "SLACK_URL  secret SLACK_URL of auth0.action.app-hello  (not set)" in imported.out
    assert "hookctl adopt -s stacks/web.yaml -e prod" in imported.out

    again = hookctl(["import", "-e", "prod", "--name", "web", "--auth0"], cwd, env)
    assert again.code == 1 and "refusing to overwrite" in again.err and "stacks/web.yaml" in again.err

    no_terminal = hookctl(
        ["adopt", "-s", "stacks/web.yaml", "-e", "prod"], cwd, {**env, "SLACK_URL": SLACK_URL, "API_TOKEN": API_TOKEN}
    )
    outputs.append(no_terminal.all)
    assert no_terminal.code == 1 and "pass --auto-approve" in no_terminal.err

    secrets = {"SLACK_URL": SLACK_URL, "API_TOKEN": API_TOKEN}
    adopted = hookctl(["adopt", "-s", "stacks/web.yaml", "-e", "prod", "--auto-approve"], cwd, {**env, **secrets})
    outputs.append(adopted.all)
    assert adopted.code == 0, adopted.all
    assert "The plan is now empty" in adopted.out

    plan = run(["plan", "-s", "stacks/web.yaml", "-e", "prod", "--detailed-exitcode"], cwd, {**env, **secrets})
    outputs.append(plan.all)
    assert plan.code == 0, plan.all
    assert [t.get_action(b.action_id).name for b in t.list_bindings("post-login")] == ["vendor", "app-hello"]

    written = [p.read_text() for p in (cwd / "stacks").rglob("*") if p.is_file()]
    state = [p.read_text() for p in (cwd / ".hookctl").rglob("*.json")]
    for text in [*outputs, *written, *state]:
        assert SLACK_URL not in text and API_TOKEN not in text


def test_cli__import_with_adopt__refuses_before_writing_without_secrets_then_adopts(tenant: Live) -> None:
    assert tenant.emu is not None
    action = tenant.emu.tenant.seed_action("app-hello", "post-login", secrets={"SLACK_URL": SLACK_URL})
    tenant.emu.tenant.add_binding("post-login", action.id)
    env = {
        "AUTH0_DOMAIN": tenant.emu.domain,
        "AUTH0_CLIENT_ID": tenant.emu.client_id,
        "AUTH0_CLIENT_SECRET": tenant.emu.client_secret,
        "SSL_CERT_FILE": str(tenant.emu.ca_file),
    }
    args = ["import", "-e", "prod", "-s", "stacks/login.yaml", "--adopt", "--auto-approve"]
    refused = hookctl(args, tenant.root, env)
    assert refused.code == 1 and "export SLACK_URL first; nothing was written" in refused.err
    assert not (tenant.root / "stacks" / "login.yaml").exists()

    done = hookctl(args, tenant.root, {**env, "SLACK_URL": SLACK_URL})
    assert done.code == 0, done.all
    assert "Adopting writes, once:" in done.out and "The plan is now empty" in done.out
    assert SLACK_URL not in done.all
    assert tenant.emu.tenant.secret_value(action.id, "SLACK_URL") == SLACK_URL
