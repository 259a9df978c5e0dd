"""CLI conventions a Terraform user expects: global options after the command, `show PLANFILE`,
`plan --destroy --out`, `--no-color` and NO_COLOR, JSON errors under --json, the JSON plan's
sensitive fields and drift section, a past-tense apply summary, and helpful messages."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import pytest

from provisioner.cli.main import cli, hoist_global_options
from provisioner.cli.options import colour_wanted
from provisioner.engine.plan import FieldChange, Plan, ResourceChange, plan_to_json

from .helpers import Result, run

SECRET = "conventions-secret-value-42c1"


def _hk(stack_dir: Path, *args: str) -> Result:
    env = {"HOOKCTL_FAKE_STORE": str(stack_dir / "fake-store.json"), "HOOKCTL_TEST_SLACK_URL": SECRET}
    return run([*args], cwd=stack_dir, env={**env, "HOOKCTL_STATE_DIR": str(stack_dir / "state")})


def test_global_options__accepted_after_the_command(stack_dir: Path) -> None:
    quiet = _hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "-q", "--no-color")
    assert quiet.code == 0, quiet.err
    assert quiet.err == ""  # -q after the command silenced the progress lines
    loud = _hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev")
    assert "Reading" in loud.err


def test_hoist__keeps_a_commands_own_option_of_the_same_name() -> None:
    ctx = click.Context(cli)
    assert hoist_global_options(cli, ctx, ["plan", "-e", "x", "-q", "--state-dir", "d"]) == [
        "-q",
        "--state-dir",
        "d",
        "plan",
        "-e",
        "x",
    ]
    # `sandbox --state-dir` is the sandbox's own option, not the state backend's.
    assert hoist_global_options(cli, ctx, ["sandbox", "--state-dir", "d"]) == ["sandbox", "--state-dir", "d"]
    assert hoist_global_options(cli, ctx, ["--debug", "invoke", "f", "--", "-q"]) == [
        "--debug",
        "invoke",
        "f",
        "--",
        "-q",
    ]


@pytest.mark.parametrize(
    ("no_color_env", "flag", "expected"),
    [(None, False, True), ("", False, True), ("1", False, False), ("0", False, False), (None, True, False)],
)
def test_colour__no_color_only_when_non_empty_and_the_flag(
    monkeypatch: pytest.MonkeyPatch, no_color_env: str | None, flag: bool, expected: bool
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    if no_color_env is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color_env)
    assert colour_wanted(flag) is expected


def test_show__prints_a_saved_plan_as_text_json_and_markdown(stack_dir: Path) -> None:
    saved = _hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--out", "plan.hookctl")
    assert saved.code == 0, saved.err
    text = _hk(stack_dir, "show", "plan.hookctl")
    assert text.code == 0, text.err
    assert text.out.startswith("Saved plan for demo/dev")
    assert "Plan: 4 to create, 0 to update, 0 to delete." in text.out
    as_json = json.loads(_hk(stack_dir, "show", "plan.hookctl", "--json").out)
    assert as_json["format"] == "hookctl-plan" and as_json["summary"]["create"] == 4
    markdown = _hk(stack_dir, "show", "plan.hookctl", "--markdown").out
    assert markdown.startswith("### hookctl plan: `demo` / `dev`")
    assert SECRET not in text.all + markdown


def test_plan_destroy_out__saved_then_applied_past_tense(stack_dir: Path) -> None:
    assert _hk(stack_dir, "apply", "-s", "stack.yaml", "-e", "dev", "--auto-approve").code == 0
    saved = _hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--destroy", "--out", "destroy.hookctl")
    assert saved.code == 0, saved.err
    assert "Plan: 0 to create, 0 to update, 4 to delete." in saved.out
    assert _hk(stack_dir, "show", "destroy.hookctl").out.startswith("Saved destroy plan for demo/dev")
    applied = _hk(stack_dir, "apply", "destroy.hookctl")
    assert applied.code == 0, applied.err
    assert "Destroy complete:" in applied.out and "0 created, 0 updated, 4 deleted." in applied.out
    again = _hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "dev", "--detailed-exitcode")
    assert again.code == 2  # everything is gone again: the plan creates it


def test_apply__summary_in_the_past_tense(stack_dir: Path) -> None:
    applied = _hk(stack_dir, "apply", "-s", "stack.yaml", "-e", "dev", "--auto-approve")
    assert applied.code == 0, applied.err
    assert "Apply complete:" in applied.out and "4 created, 0 updated, 0 deleted." in applied.out
    assert "to create" not in applied.out.split("Apply complete:")[1]


def test_json_errors__are_json_on_stdout(stack_dir: Path) -> None:
    result = _hk(stack_dir, "plan", "-s", "stack.yaml", "-e", "nope", "--json")
    assert result.code == 1
    doc = json.loads(result.out)
    assert doc["format"] == "hookctl-error"
    [problem] = doc["error"]["problems"]
    assert problem["field"] == "environments" and "this stack has dev" in problem["message"]
    assert result.err.startswith("Error: ")  # people still read stderr


def test_json_errors__usage_errors_too(stack_dir: Path) -> None:
    result = _hk(stack_dir, "plan", "--json", "--markdown", "-s", "stack.yaml", "-e", "dev")
    assert result.code == 1
    assert "choose one of" in json.loads(result.out)["error"]["message"]


def test_json_plan__sensitive_fields_follow_the_docs_and_drift_is_listed() -> None:
    plan = Plan(
        stack="s",
        environment="e",
        stack_revision="r",
        fingerprint="f",
        changes=(
            ResourceChange(
                "auth0.action.a",
                "update",
                (
                    FieldChange("secrets.NEW", None, "hash-1", True),
                    FieldChange("secrets.GONE", "hash-2", None, True),
                    FieldChange("secrets.CHANGED", "hash-3", "hash-4", True),
                    FieldChange("runtime", "node18", "node22"),
                ),
                reason="the draft differs from the deployed version",
            ),
            ResourceChange("auth0.action.b", "create", (FieldChange("secrets.X", None, "(sensitive)", True),)),
        ),
        operations=(),
    )
    doc = plan_to_json(plan)
    fields = {f["path"]: (f["before"], f["after"]) for f in doc["changes"][0]["fields"]}
    assert fields["secrets.NEW"] == (None, "(sensitive)")
    assert fields["secrets.GONE"] == ("(sensitive)", None)
    assert fields["secrets.CHANGED"] == ("(sensitive)", "(sensitive)")
    assert fields["runtime"] == ("node18", "node22")
    assert doc["changes"][1]["fields"][0]["before"] is None
    assert doc["drift"] == [
        {"address": "auth0.action.a", "action": "update", "reason": "the draft differs from the deployed version"}
    ]
    assert "hash-" not in json.dumps(doc)


def test_environments__json_lists_every_stack_with_its_path(stack_dir: Path) -> None:
    (stack_dir / "stacks").mkdir()
    (stack_dir / "stack.yaml").rename(stack_dir / "stacks" / "one.yaml")
    (stack_dir / "stacks" / "two.yaml").write_text("stack: two\nenvironments: {a: {}, b: {}}\n")
    rows = json.loads(run(["environments", "--json"], cwd=stack_dir).out)
    assert [(r["stack_path"], r["environment"]) for r in rows] == [
        ("stacks/one.yaml", "dev"),
        ("stacks/two.yaml", "a"),
        ("stacks/two.yaml", "b"),
    ]


def test_cli_modules__import_one_way_and_never_main() -> None:
    """cli/main.py registers the commands of stack, local, adopt and sandbox; those import only options
    (and the rest of provisioner), never main or each other, so there is no cycle."""
    import ast

    package = Path(__file__).resolve().parents[2] / "provisioner"
    command_modules = {"stack", "local", "adopt", "sandbox"}
    wrong: list[str] = []
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package.parent).with_suffix("").as_posix().replace("/", ".")
        if module == "provisioner.cli.main":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = module.rsplit(".", node.level)[0] if node.level else ""
                target = ".".join(p for p in (base, node.module or "") if p)
                names = [f"{target}.{a.name}" for a in node.names] + [target]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name == "provisioner.cli.main":
                    wrong.append(f"{module} imports provisioner.cli.main")
                if module.startswith("provisioner.cli.") and name.startswith("provisioner.cli."):
                    imported = name.split(".")[2]
                    mine = module.split(".")[2]
                    if imported in command_modules and imported != mine:
                        wrong.append(f"{module} imports provisioner.cli.{imported}")
                    if mine == "options" and imported in command_modules:
                        wrong.append(f"{module} imports provisioner.cli.{imported}")
    assert wrong == []
