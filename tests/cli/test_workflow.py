"""End to end through the console script, against the file-backed fake provider."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .helpers import Result, run

SECRET = "xoxb-SuperSecretValue-41c9e2"


def _env(stack_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "HOOKCTL_FAKE_STORE": str(stack_dir / "live.json"),
        "HOOKCTL_TEST_SLACK_URL": SECRET,
        "HOOKCTL_BUILD_DIR": str(stack_dir / ".build"),
        **extra,
    }


def hk(stack_dir: Path, *args: str, stdin: str = "", **env: str) -> Result:
    return run(list(args), cwd=stack_dir, env=_env(stack_dir, **env), stdin=stdin)


def test_plan_apply_replan__second_plan_is_empty(stack_dir: Path) -> None:
    first = hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--detailed-exitcode")
    assert first.code == 2, first.err
    assert "+ auth0.action.notify (create)" in first.out
    assert "+ secrets.SLACK_WEBHOOK_URL = (sensitive)" in first.out
    assert "Plan: 4 to create, 0 to update, 0 to delete." in first.out
    applied = hk(stack_dir, "apply", "-s", "stack.yaml", "-e", "dev", "--auto-approve")
    assert applied.code == 0, applied.err
    assert "[1/4]" in applied.err  # progress goes to stderr
    again = hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    assert "No changes." in again.out


def test_apply__without_terminal_or_auto_approve__refuses(stack_dir: Path) -> None:
    result = hk(stack_dir, "apply", "-s", "stack.yaml", "-e", "dev")
    assert result.code == 1
    assert "pass --auto-approve" in result.err
    assert not (stack_dir / "live.json").exists()


def test_plan__changed_variable__shows_one_field_update_with_code_diff(stack_dir: Path) -> None:
    assert hk(stack_dir, "apply", "-s", "stack.yaml", "-e", "dev", "--auto-approve").code == 0
    text = (stack_dir / "stack.yaml").read_text().replace('channel: "#general"', 'channel: "#alerts"')
    (stack_dir / "stack.yaml").write_text(text)
    result = hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev")
    assert "~ auth0.action.notify (update)" in result.out
    assert '-  const channel = "#general";' in result.out
    assert '+  const channel = "#alerts";' in result.out
    assert "Plan: 0 to create, 1 to update, 0 to delete." in result.out


def test_plan__secret_rotated__shows_changed_not_value(stack_dir: Path) -> None:
    assert hk(stack_dir, "apply", "-s", "stack.yaml", "-e", "dev", "--auto-approve").code == 0
    result = hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", HOOKCTL_TEST_SLACK_URL="rotated-" + SECRET)
    assert "~ secrets.SLACK_WEBHOOK_URL = (sensitive) (changed)" in result.out
    assert SECRET not in result.out + result.err


def test_saved_plan__applies_exactly_and_refuses_when_stale(stack_dir: Path) -> None:
    assert hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--out", "p1.json").code == 0
    assert hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--out", "p2.json").code == 0
    applied = hk(stack_dir, "apply", "p1.json")
    assert applied.code == 0, applied.err
    stale = hk(stack_dir, "apply", "p2.json")
    assert stale.code == 1
    assert "live systems changed since the plan was made" in stale.err


def test_saved_plan__stack_edited_afterwards__refused(stack_dir: Path) -> None:
    assert hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--out", "p.json").code == 0
    (stack_dir / "stack.yaml").write_text((stack_dir / "stack.yaml").read_text() + "\n# edited\n")
    result = hk(stack_dir, "apply", "p.json")
    assert result.code == 1
    assert "stack file changed since the plan was made" in result.err


def test_saved_plan__secret_changed_before_apply__refused(stack_dir: Path) -> None:
    assert hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--out", "p.json").code == 0
    result = hk(stack_dir, "apply", "p.json", HOOKCTL_TEST_SLACK_URL="another-value")
    assert result.code == 1
    assert "changed since the plan was made" in result.err
    assert "another-value" not in result.all


def test_saved_plan__other_stack_or_environment_given__fails_up_front_saying_so(stack_dir: Path) -> None:
    assert hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--out", "p.json").code == 0
    (stack_dir / "other.yaml").write_text((stack_dir / "stack.yaml").read_text())
    wrong_env = hk(stack_dir, "apply", "p.json", "-e", "prod")
    assert wrong_env.code == 1
    assert "p.json: options: -e prod (the plan is for environment dev) does not match the plan" in wrong_env.err
    wrong_stack = hk(stack_dir, "apply", "p.json", "-s", "other.yaml", "-e", "dev")
    assert wrong_stack.code == 1
    assert "-s other.yaml (the plan was made from stack.yaml) does not match the plan" in wrong_stack.err
    assert "Reading" not in wrong_env.err + wrong_stack.err  # nothing was read, let alone written
    assert not (stack_dir / "live.json").exists()
    assert hk(stack_dir, "apply", "p.json", "-s", "stack.yaml", "-e", "dev").code == 0


def test_saved_plan__operation_added_by_hand__refused(stack_dir: Path) -> None:
    assert hk(stack_dir, "apply", "-s", "stack.yaml", "-e", "dev", "--auto-approve").code == 0
    text = (stack_dir / "stack.yaml").read_text().replace('channel: "#general"', 'channel: "#alerts"')
    (stack_dir / "stack.yaml").write_text(text)
    assert hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--out", "p.json").code == 0
    document = json.loads((stack_dir / "p.json").read_text())
    extra = dict(document["operations"][0])
    extra.update(id="extra", method="delete", params={"address": "demo/dev/cognito.function.signup"})
    extra.update(description="Delete the signup function", record=None, depends_on=[])
    document["operations"].append(extra)
    (stack_dir / "p.json").write_text(json.dumps(document))
    result = hk(stack_dir, "apply", "p.json")
    assert result.code == 1
    assert "the plan file's operations are not what this plan computes now" in result.err
    assert "Delete the signup function" in result.err
    assert "cognito.function.signup" in json.loads((stack_dir / "live.json").read_text()).__repr__()


def test_apply__state_locked__fails_at_once_naming_holder(stack_dir: Path) -> None:
    lock = stack_dir / ".hookctl" / "state" / "demo" / "dev.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(
        json.dumps({"id": "abc123", "who": "ci@runner-7 pid 42", "operation": "apply", "created_at": 1_800_000_000})
    )
    result = hk(stack_dir, "apply", "-s", "stack.yaml", "-e", "dev", "--auto-approve")
    assert result.code == 1
    assert "locked: lock abc123 held by ci@runner-7 pid 42 (apply)" in result.err
    assert "hookctl state unlock abc123" in result.err
    unlocked = hk(stack_dir, "state", "unlock", "abc123", "-s", "stack.yaml", "-e", "dev")
    assert unlocked.code == 0 and not lock.exists()


def test_secret_value__never_in_any_output_plan_or_state(stack_dir: Path) -> None:
    seen: list[str] = []
    for args in (
        ["validate", "-s", "stack.yaml", "-e", "dev"],
        ["render", "-s", "stack.yaml", "-e", "dev", "-o", "out"],
        ["plan", "-s", "stack.yaml", "-e", "dev"],
        ["plan", "-s", "stack.yaml", "-e", "dev", "--json", "--out", "plan.json"],
        ["plan", "-s", "stack.yaml", "-e", "dev", "--markdown"],
        ["--debug", "apply", "plan.json"],
        ["apply", "-s", "stack.yaml", "-e", "dev", "--auto-approve"],
        ["state", "show", "-s", "stack.yaml", "-e", "dev"],
    ):
        result = hk(stack_dir, *args)
        assert result.code == 0, (args, result.err)
        seen.append(result.all)
    # A forced failure with --debug too.
    seen.append(hk(stack_dir, "--debug", "apply", "nonexistent.json").all)
    for text in seen:
        assert SECRET not in text
    for root, _dirs, files in os.walk(stack_dir):
        for name in files:
            data = (Path(root) / name).read_bytes()
            assert SECRET.encode() not in data, f"secret value found in {Path(root) / name}"


def test_plan__json_output__versioned_schema(stack_dir: Path) -> None:
    result = hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--json")
    doc = json.loads(result.out)
    assert doc["format"] == "hookctl-plan" and doc["format_version"] == 1
    assert doc["summary"] == {"create": 4, "update": 0, "delete": 0, "replace": 0}
    secret_fields = [f for c in doc["changes"] for f in c["fields"] if f["sensitive"]]
    assert secret_fields and all(f["after"] == "(sensitive)" for f in secret_fields)


def test_plan__markdown__summary_first_and_collapsible(stack_dir: Path) -> None:
    result = hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--markdown")
    lines = result.out.splitlines()
    assert lines[0].startswith("### hookctl plan")
    assert "**Plan: 4 to create, 0 to update, 0 to delete.**" in result.out
    assert "<details>" in result.out and "```diff" in result.out


def test_target__limits_plan_to_address(stack_dir: Path) -> None:
    result = hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--target", "cognito.function.signup")
    assert "cognito.function.signup" in result.out
    assert "auth0.action.notify" not in result.out
    assert "Plan: 1 to create" in result.out


def test_target__mistyped__exit_1_naming_the_nearest_for_plan_drift_check_apply_and_destroy(stack_dir: Path) -> None:
    assert hk(stack_dir, "apply", "-s", "stack.yaml", "-e", "dev", "--auto-approve").code == 0
    for command in (
        ["plan"],
        ["plan", "--detailed-exitcode"],
        ["apply", "--auto-approve"],
        ["destroy", "--auto-approve"],
    ):
        result = hk(stack_dir, *command, "-s", "stack.yaml", "-e", "dev", "--target", "auth0.action.notfy")
        assert result.code == 1, (command, result.out, result.err)
        assert "--target auth0.action.notfy matches nothing in demo/dev; did you mean auth0.action.notify?" in (
            result.err
        )
        assert "No changes" not in result.out
    bare = hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--target", "notify")
    assert bare.code == 1 and "did you mean auth0.action.notify?" in bare.err
    assert hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--detailed-exitcode").code == 0


def test_target__apply_says_partial(stack_dir: Path) -> None:
    result = hk(
        stack_dir, "apply", "-s", "stack.yaml", "-e", "dev", "--auto-approve", "--target", "auth0.action.notify"
    )
    assert result.code == 0, result.err
    assert "(partial plan: only auth0.action.notify and what it needs)" in result.out
    assert "Partial plan: only auth0.action.notify and what it needs" in result.out.splitlines()[-1]


def test_render__writes_handlers_deterministically(stack_dir: Path) -> None:
    assert hk(stack_dir, "render", "-s", "stack.yaml", "-e", "dev", "-o", "a").code == 0
    assert hk(stack_dir, "render", "-s", "stack.yaml", "-e", "dev", "-o", "b").code == 0
    a = sorted(p.relative_to(stack_dir / "a") for p in (stack_dir / "a").rglob("*") if p.is_file())
    b = sorted(p.relative_to(stack_dir / "b") for p in (stack_dir / "b").rglob("*") if p.is_file())
    assert a == b == [Path("auth0.action.notify/code.js"), Path("cognito.function.signup/index.mjs")]
    for rel in a:
        assert (stack_dir / "a" / rel).read_bytes() == (stack_dir / "b" / rel).read_bytes()


def test_help__lists_commands_and_exit_codes(stack_dir: Path) -> None:
    result = hk(stack_dir, "--help")
    assert result.code == 0
    for command in ("validate", "render", "plan", "apply"):
        assert command in result.out
    assert "Exit codes" in result.out
