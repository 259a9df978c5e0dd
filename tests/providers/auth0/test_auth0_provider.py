"""The Auth0 provider against the emulator, through the real auth0-python client."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from provisioner.engine.errors import ApplyError
from provisioner.engine.load import load_stack
from provisioner.engine.plan import DELETE, UPDATE
from provisioner.engine.render import Renderer
from provisioner.providers.auth0.plan import marker, merge_bindings
from provisioner.sandbox.auth0.config import FaultRule

from .conftest import SLACK_URL, Harness

ACTIONS = ("slack-new-user", "store-user-id", "deny-tls-fingerprints")


def _binding_names(h: Harness, trigger: str) -> list[str]:
    return [h.emu.tenant.get_action(b.action_id).name for b in h.emu.tenant.list_bindings(trigger)]


def test_apply__seed_examples__created_deployed_and_bound_in_order(h: Harness) -> None:
    h.apply()
    stack = load_stack(h.stack(), "sandbox")
    renderer = Renderer(stack)
    for entry in stack.actions:
        action = h.action(entry.name)
        assert action.code == marker("auth0-registration", "sandbox") + renderer.render(entry).source
        assert {d["name"]: d["version"] for d in action.dependencies} == dict(entry.dependencies)
        assert [s.name for s in action.secrets] == [s.name for s in entry.secrets]
        deployed = h.emu.tenant.deployed_version(action)
        assert deployed is not None and deployed.code == action.code
    assert h.emu.tenant.secret_value(h.action("slack-new-user").id, "SLACK_WEBHOOK_URL") == SLACK_URL
    assert _binding_names(h, "post-user-registration") == ["store-user-id", "slack-new-user"]
    assert _binding_names(h, "pre-user-registration") == ["deny-tls-fingerprints"]


def test_replan_after_apply__empty_and_reapply_makes_no_writes(h: Harness) -> None:
    h.apply()
    h.emu.reset_counts()
    again = h.plan()
    assert again.plan.empty, again.plan.changes
    # Read budget: triggers once, actions one page, bindings once per managed trigger (2 + K).
    assert h.reads() == {
        ("GET", "/api/v2/actions/triggers"): 1,
        ("GET", "/api/v2/actions/actions"): 1,
        ("GET", "/api/v2/actions/triggers/{trigger_id}/bindings"): 2,
    }
    h.apply()
    assert h.writes() == {}
    assert h.action("slack-new-user").versions and len(h.action("slack-new-user").versions) == 1


def test_first_apply__call_budget(h: Harness) -> None:
    h.apply()
    writes = h.writes()
    assert writes[("POST", "/api/v2/actions/actions")] == 3
    assert writes[("POST", "/api/v2/actions/actions/{id}/deploy")] == 3
    assert writes[("PATCH", "/api/v2/actions/triggers/{trigger_id}/bindings")] == 2
    assert ("DELETE", "/api/v2/actions/actions/{id}") not in writes


def test_plan__action_edited_in_tenant__shows_drift(h: Harness) -> None:
    h.apply()
    action = h.action("store-user-id")
    h.emu.tenant.edit_action(action.id, code=action.code + "\n// hotfix from the dashboard\n")
    planned = h.plan()
    change = next(c for c in planned.plan.changes if c.address == "auth0.action.store-user-id")
    assert change.kind == UPDATE
    assert "draft differs from the deployed version" in change.reason
    assert [f.path for f in change.fields] == ["code"]
    h.apply()
    assert h.plan().plan.empty


def test_plan__draft_edited_but_not_deployed__is_drift(h: Harness) -> None:
    h.apply()
    action = h.action("deny-tls-fingerprints")
    h.emu.tenant.edit_action(action.id, code=action.code)  # same code, new draft revision? no change
    h.emu.tenant.edit_action(action.id, runtime="node18-actions")
    change = next(c for c in h.plan().plan.changes if c.address == "auth0.action.deny-tls-fingerprints")
    assert any(f.path == "runtime" for f in change.fields)


def test_apply__unmanaged_binding__survives_in_its_place(h: Harness) -> None:
    other = h.emu.tenant.seed_action(
        "audit-log", "post-user-registration", "exports.onExecutePostUserRegistration = async () => {};"
    )
    h.emu.tenant.add_binding("post-user-registration", other.id, "Audit log")
    h.apply()
    assert _binding_names(h, "post-user-registration") == ["audit-log", "store-user-id", "slack-new-user"]
    # Reorder the stack; the unmanaged binding keeps its slot and its binding id.
    before = h.emu.tenant.list_bindings("post-user-registration")[0].id
    path = h.root / "stacks" / "auth0-registration.yaml"
    text = path.read_text().replace(
        "        - store-user-id\n        - slack-new-user", "        - slack-new-user\n        - store-user-id"
    )
    path.write_text(text)
    h.apply()
    bindings = h.emu.tenant.list_bindings("post-user-registration")
    assert _binding_names(h, "post-user-registration") == ["audit-log", "slack-new-user", "store-user-id"]
    assert bindings[0].id == before
    assert h.plan().plan.empty


def test_apply__prune__unbinds_then_deletes_in_one_run(h: Harness) -> None:
    h.apply()
    path = h.root / "stacks" / "auth0-registration.yaml"
    text = path.read_text()
    start = text.index("    store-user-id:\n      trigger")
    end = text.index("    deny-tls-fingerprints:")
    text = text[:start] + text[end:]
    text = text.replace("        - store-user-id\n", "").replace(
        "stack: auth0-registration\n", "stack: auth0-registration\nprune: true\n"
    )
    path.write_text(text)
    planned = h.plan()
    assert [c.kind for c in planned.plan.changes if c.address == "auth0.action.store-user-id"] == [DELETE]
    h.emu.reset_counts()
    h.apply()
    assert h.emu.tenant.find_action("store-user-id") is None
    assert _binding_names(h, "post-user-registration") == ["slack-new-user"]
    assert h.plan().plan.empty


def test_prune__never_touches_what_the_stack_does_not_own(h: Harness) -> None:
    foreign = h.emu.tenant.seed_action(
        "someone-elses", "post-user-registration", "exports.onExecutePostUserRegistration = async () => {};"
    )
    h.emu.tenant.add_binding("post-user-registration", foreign.id)
    path = h.root / "stacks" / "auth0-registration.yaml"
    path.write_text(path.read_text().replace("stack: auth0-registration\n", "stack: auth0-registration\nprune: true\n"))
    h.apply()
    assert h.emu.tenant.find_action("someone-elses") is not None
    assert "someone-elses" in _binding_names(h, "post-user-registration")


def test_ownership__recognised_without_local_state(h: Harness) -> None:
    h.apply()
    import shutil

    shutil.rmtree(h.root / "state")
    planned = h.plan()
    # Secrets cannot be verified without recorded hashes; everything else is in sync and owned.
    addresses = {c.address for c in planned.plan.changes}
    assert addresses <= {"auth0.action.slack-new-user"}
    assert not any(c.kind == "create" for c in planned.plan.changes)


def test_plan__secret_rotated_outside__shows_update(h: Harness) -> None:
    h.apply()
    h.emu.tenant.rotate_secret(h.action("slack-new-user").id, "SLACK_WEBHOOK_URL", "https://elsewhere")
    change = next(c for c in h.plan().plan.changes if c.address == "auth0.action.slack-new-user")
    assert "rotated outside hookctl" in change.reason
    assert any(f.path == "secrets.SLACK_WEBHOOK_URL" and f.sensitive for f in change.fields)
    h.apply()
    assert h.emu.tenant.secret_value(h.action("slack-new-user").id, "SLACK_WEBHOOK_URL") == SLACK_URL
    assert h.plan().plan.empty


def test_plan__secret_value_changed_locally__update_sends_whole_list(h: Harness) -> None:
    h.apply()
    h.environ["SLACK_WEBHOOK_URL"] = SLACK_URL + "-rotated"
    planned = h.plan()
    ops = [op for op in planned.plan.operations if op.method == "update_action"]
    assert len(ops) == 1 and set(ops[0].params) >= {"secrets"} and "code" not in ops[0].params
    h.apply()
    assert h.emu.tenant.secret_value(h.action("slack-new-user").id, "SLACK_WEBHOOK_URL") == SLACK_URL + "-rotated"


def test_apply__failed_build__reported_with_its_error(h: Harness) -> None:
    # Auth0's build fails on a dependency npm cannot resolve (TestAccAction_FailedBuild.yaml), not on syntax.
    path = h.root / "stacks" / "auth0-registration.yaml"
    path.write_text(
        path.read_text().replace(
            "      template: auth0/pre-user-registration/deny-tls-fingerprints.js.j2\n",
            "      template: auth0/pre-user-registration/deny-tls-fingerprints.js.j2\n"
            '      dependencies: {crypto: "17.7.1"}\n',
        )
    )
    with pytest.raises(ApplyError) as caught:
        h.apply()
    message = str(caught.value)
    assert "Deploy action deny-tls-fingerprints" in message
    assert "the build failed" in message
    assert "Already done:" in message
    change = next(c for c in h.plan().plan.changes if c.address == "auth0.action.deny-tls-fingerprints")
    assert "the last build failed" in change.reason


def test_apply__429_storm__ridden_out(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(rate_limit_per_second=8.0, rate_limit_burst=2)
    planned = h.apply()
    assert h.plan().plan.empty
    limited = sum(n for (_m, _t, status), n in h.emu.status_counts.items() if status == 429)
    paced = planned.providers[0].client().pacer.waited  # type: ignore[attr-defined]
    assert limited or paced > 0, "the tenant never pushed back; the test did not exercise rate limiting"


@pytest.mark.skipif(not os.environ.get("HOOKCTL_LONG"), reason="2 requests/s takes ~20 s; make test-long")
def test_apply__tenant_limited_to_2_per_second__succeeds(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(rate_limit_per_second=2.0)
    h.apply()
    assert h.plan().plan.empty


def test_apply__injected_5xx_and_dropped_connections__converges(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(faults=[FaultRule(status=503, every_nth=4), FaultRule(kind="drop", every_nth=7)], seed=3)
    for _ in range(3):
        try:
            h.apply()
            break
        except ApplyError:
            continue
    assert h.plan().plan.empty
    names = [a.name for a in h.emu.tenant.actions.values()]
    assert sorted(names) == sorted(ACTIONS), "no duplicate action may be created"


def test_merge_bindings__unmanaged_keep_their_slots() -> None:
    assert merge_bindings(["x", "a", "y", "b"], {"a", "b"}, ["b", "a", "c"], False, set()) == ["x", "b", "y", "a", "c"]
    assert merge_bindings(["x", "a"], {"a"}, [], False, set()) == ["x"]
    assert merge_bindings(["x", "a"], {"a"}, ["a"], True, set()) == ["a"]


def test_rollback__redeploys_previous_version_as_draft_too_and_plan_shows_an_update_with_code_diff(
    h: Harness,
) -> None:
    from provisioner.engine import output
    from provisioner.providers.auth0.provider import prepare_rollback, rollback_action

    h.apply()
    first_code = h.action("deny-tls-fingerprints").code
    path = h.root / "stacks" / "auth0-registration.yaml"
    path.write_text(path.read_text().replace("reason: suspicious_tls_fingerprint", "reason: blocked_fingerprint"))
    h.apply()
    assert h.action("deny-tls-fingerprints").code != first_code
    client = h.factory(None)[0].client()
    stack = load_stack(str(path), "sandbox")
    prepared = prepare_rollback(client, stack, {}, "deny-tls-fingerprints", None)
    done = rollback_action(client, prepared)
    assert (done.from_number, done.to_number, done.new_number) == (2, 1, 3)
    assert "blocked_fingerprint" in done.before and "suspicious_tls_fingerprint" in done.after
    action = h.action("deny-tls-fingerprints")
    deployed = h.emu.tenant.deployed_version(action)
    assert deployed is not None and deployed.code == first_code
    assert action.code == first_code  # the draft agrees with what is deployed
    change = next(c for c in h.plan().plan.changes if c.address == "auth0.action.deny-tls-fingerprints")
    assert change.kind == UPDATE and change.reason == ""
    assert [f.path for f in change.fields] == ["code"]
    shown = output.text(h.plan().plan)
    assert any(line.strip().startswith("-") and "suspicious_tls_fingerprint" in line for line in shown.splitlines())
    assert any(line.strip().startswith("+") and "blocked_fingerprint" in line for line in shown.splitlines())


def test_rollback__action_the_stack_does_not_own__refused(h: Harness) -> None:
    from provisioner.engine.errors import HookctlError
    from provisioner.providers.auth0.provider import prepare_rollback

    theirs = h.emu.tenant.seed_action("someone-elses", "post-user-registration", "exports.x = 1;\n")
    h.emu.tenant.edit_action(theirs.id, code="exports.x = 2;\n")
    h.emu.tenant.deploy_action(theirs.id)
    client = h.factory(None)[0].client()
    stack = load_stack(h.stack(), "sandbox")
    with pytest.raises(HookctlError, match="no hookctl stack owns it"):
        prepare_rollback(client, stack, {}, "someone-elses", None)
    assert h.emu.tenant.deployed_version(h.action("someone-elses")).code == "exports.x = 2;\n"  # type: ignore[union-attr]


def test_destroy__removes_owned_actions_keeps_unmanaged_bindings(h: Harness) -> None:
    foreign = h.emu.tenant.seed_action(
        "someone-elses", "post-user-registration", "exports.onExecutePostUserRegistration = async () => {};"
    )
    h.emu.tenant.add_binding("post-user-registration", foreign.id)
    h.apply()
    planned = h.plan(destroy=True)
    assert {c.address for c in planned.plan.changes if c.kind == DELETE} == {f"auth0.action.{n}" for n in ACTIONS}
    from provisioner.engine.pipeline import apply_plan

    apply_plan(planned, None, h.options(destroy=True))
    assert sorted(a.name for a in h.emu.tenant.actions.values()) == ["someone-elses"]
    assert _binding_names(h, "post-user-registration") == ["someone-elses"]
    assert h.plan(destroy=True).plan.empty


def test_read__several_pages__one_request_each_and_no_extra_empty_page(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import provisioner.providers.auth0.client as auth0_module

    monkeypatch.setattr(auth0_module, "PER_PAGE", 10)
    for i in range(32):
        h.emu.tenant.seed_action(f"other-{i:02d}", "post-login", deploy=False)
    h.emu.reset_counts()
    client = h.factory(None)[0].client()
    names = {a.name for a in client.list_actions()}
    assert {f"other-{i:02d}" for i in range(32)} <= names and len(names) == 32
    assert h.emu.counts[("GET", "/api/v2/actions/actions")] == 4  # 10 + 10 + 10 + 2: no empty fifth page
