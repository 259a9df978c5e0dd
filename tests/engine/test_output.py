"""Plan writers: the Markdown pull-request comment is checked in as a golden file."""

from __future__ import annotations

import os
from pathlib import Path

from provisioner.engine import output
from provisioner.engine.plan import FieldChange, Operation, Plan, ResourceChange

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "plan.md"

OLD = 'const CHANNEL = "#signups";\nconst PREFIX = "New User: ";\n'
NEW = 'const CHANNEL = "#alerts";\nconst PREFIX = "New User: ";\n'


def sample_plan() -> Plan:
    changes = (
        ResourceChange(
            "auth0.action.slack-new-user",
            "update",
            (
                FieldChange("code", "sha256:aaa (60 bytes)", "sha256:bbb (59 bytes)"),
                FieldChange("secrets.SLACK_WEBHOOK_URL", "scrypt$old", "scrypt$new", sensitive=True),
            ),
            OLD,
            NEW,
            reason="secret SLACK_WEBHOOK_URL rotated outside hookctl",
        ),
        ResourceChange(
            "cognito.function.auto-confirm-domain",
            "create",
            (FieldChange("runtime", None, "nodejs22.x"), FieldChange("timeout", None, 5)),
            None,
            "export const handler = async (event) => event;\n",
        ),
        ResourceChange("auth0.action.old-audit", "delete", (), "exports.x = 1;\n", None),
    )
    ops = (
        Operation(
            "write:slack-new-user",
            "auth0",
            "update_action",
            {},
            "Update action slack-new-user: code, secrets",
            "auth0.action.slack-new-user",
        ),
        Operation(
            "deploy:slack-new-user",
            "auth0",
            "deploy_action",
            {},
            "Deploy action slack-new-user",
            "auth0.action.slack-new-user",
        ),
    )
    return Plan("example", "prod", "rev", "fp", changes, ops)


def test_markdown__sample_change__matches_golden_file() -> None:
    text = output.markdown(sample_plan())
    if os.environ.get("HOOKCTL_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    assert "scrypt$" not in text


def test_markdown__too_long__capped_with_pointer() -> None:
    text = output.markdown(sample_plan(), limit=400)
    assert len(text) < 600
    assert "too long for a comment" in text


def test_text__secret_change_shown_as_changed_only() -> None:
    text = output.text(sample_plan())
    assert "~ secrets.SLACK_WEBHOOK_URL = (sensitive) (changed)" in text
    assert "scrypt$" not in text
    assert "-/+" not in text and "- auth0.action.old-audit (delete)" in text
    assert text.rstrip().endswith("Plan: 1 to create, 1 to update, 1 to delete.")
