"""A saved plan is a checked claim: applied only against the tenant, secrets and operations it was made with."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from provisioner.engine.errors import StaleError
from provisioner.engine.pipeline import apply_plan
from provisioner.engine.plan import Plan, plan_from_json, plan_to_json

from .conftest import SLACK_URL, Harness

NOOP_CODE = "exports.onExecutePostUserRegistration = async () => {};"


def _saved(plan: Plan) -> Plan:
    """The plan as `hookctl apply PLANFILE` reads it back."""
    return plan_from_json(json.loads(json.dumps(plan_to_json(plan))))


def test_saved_plan__made_for_tenant_a__refused_on_tenant_b_naming_both(
    make_harness: Callable[..., Harness], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = make_harness()
    b = make_harness()
    # One bundle trusting both emulators' CAs, as a runner trusting both tenants would.
    bundle = tmp_path / "cas.pem"
    bundle.write_text(a.emu.ca_file.read_text() + b.emu.ca_file.read_text())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    planned = a.plan()
    saved = _saved(planned.plan)
    assert saved.systems["auth0"]["domain"] == a.emu.domain
    assert saved.systems["auth0"]["tenant"]  # the token's issuer: the tenant's own identity
    b.root = a.root  # same checkout, same state: only the tenant the credentials reach differs
    on_b = b.plan()
    b.emu.reset_counts()
    with pytest.raises(StaleError) as refused:
        apply_plan(on_b, saved, a.options())
    message = refused.value.message
    assert f"the plan was made against auth0 domain {a.emu.domain}" in message
    assert f"this run reaches auth0 domain {b.emu.domain}" in message
    assert b.writes() == {}
    recorded = a.root / "state" / "auth0-registration" / "sandbox.json"
    # Nothing of tenant B was recorded: the state holds only the digest key the first plan recorded.
    assert json.loads(recorded.read_text())["resources"] == {}


def test_saved_plan__secret_changed_that_the_plan_does_not_change__refused(h: Harness) -> None:
    h.apply()
    path = h.root / "stacks" / "auth0-registration.yaml"
    path.write_text(path.read_text().replace("reason: suspicious_tls_fingerprint", "reason: blocked_fingerprint"))
    planned = h.plan()
    assert {c.address for c in planned.plan.changes} == {"auth0.action.deny-tls-fingerprints"}
    saved = _saved(planned.plan)
    h.environ["SLACK_WEBHOOK_URL"] = SLACK_URL + "-changed"
    h.emu.reset_counts()
    with pytest.raises(StaleError) as refused:
        apply_plan(h.plan(), saved, h.options())
    assert "secret SLACK_WEBHOOK_URL of auth0.action.slack-new-user changed since the plan was made" in (
        refused.value.message
    )
    assert h.writes() == {}
    assert h.emu.tenant.secret_value(h.action("slack-new-user").id, "SLACK_WEBHOOK_URL") == SLACK_URL


def test_saved_plan__operation_added_by_hand__refused_and_nothing_written(h: Harness) -> None:
    theirs = h.emu.tenant.seed_action("someone-elses", "post-user-registration", NOOP_CODE)
    h.apply()
    path = h.root / "stacks" / "auth0-registration.yaml"
    path.write_text(path.read_text().replace("reason: suspicious_tls_fingerprint", "reason: blocked_fingerprint"))
    document = plan_to_json(h.plan().plan)
    assert document["summary"]["delete"] == 0
    document["operations"].append(
        {
            "id": "delete:someone-elses",
            "provider": "auth0",
            "method": "delete_action",
            "address": "auth0.action.deny-tls-fingerprints",
            "description": "Delete action someone-elses",
            "depends_on": [],
            "params": {"action_id": theirs.id, "name": "someone-elses"},
            "record": None,
            "write": True,
        }
    )
    tampered = plan_from_json(json.loads(json.dumps(document)))
    h.emu.reset_counts()
    with pytest.raises(StaleError) as refused:
        apply_plan(h.plan(), tampered, h.options())
    assert "the plan file's operations are not what this plan computes now" in refused.value.message
    assert "Delete action someone-elses" in refused.value.message
    assert h.writes() == {}
    assert h.emu.tenant.find_action("someone-elses") is not None


def test_saved_plan__unchanged__applies_the_recomputed_operations(h: Harness) -> None:
    planned = h.plan()
    saved = _saved(planned.plan)
    # The first plan recorded the state's digest key, so the digests apply computes match.
    apply_plan(h.plan(), saved, h.options())
    assert h.plan().plan.empty
