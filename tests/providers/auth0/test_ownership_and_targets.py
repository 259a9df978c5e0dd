"""What a stack may touch in the tenant, and what a --target plan touches, against the emulator."""

from __future__ import annotations

import pytest

from provisioner.engine import output
from provisioner.engine.errors import HookctlError, OwnershipError
from provisioner.engine.pipeline import apply_plan
from provisioner.engine.plan import DELETE
from provisioner.providers.auth0.plan import marker

from .conftest import Harness

NOOP_CODE = "exports.onExecutePostUserRegistration = async () => {};"


def _bindings(h: Harness, trigger: str) -> list[str]:
    return [h.emu.tenant.get_action(b.action_id).name for b in h.emu.tenant.list_bindings(trigger)]


def test_destroy_target__example_stack__removes_exactly_it_and_keeps_every_other_binding_in_order(h: Harness) -> None:
    example = h.stack("example.yaml")
    h.apply(example)
    first = h.emu.tenant.seed_action("audit-first", "post-user-registration", NOOP_CODE)
    last = h.emu.tenant.seed_action("audit-last", "post-user-registration", NOOP_CODE)
    guard = h.emu.tenant.seed_action(
        "other-guard", "pre-user-registration", "exports.onExecutePreUserRegistration = async () => {};"
    )
    tenant = h.emu.tenant
    tenant.add_binding("post-user-registration", first.id, "first", position=0)
    tenant.add_binding("post-user-registration", last.id, "last")
    tenant.add_binding("pre-user-registration", guard.id, "guard")
    pre_before = [(b.id, b.action_id) for b in tenant.list_bindings("pre-user-registration")]
    assert _bindings(h, "post-user-registration") == ["audit-first", "slack-new-user", "audit-last"]
    assert _bindings(h, "pre-user-registration") == ["deny-tls-fingerprints", "other-guard"]

    planned = h.plan(example, destroy=True, targets=("auth0.action.slack-new-user",))
    steps = [op.description for op in planned.plan.operations]
    assert steps == [
        "Unbind slack-new-user from trigger post-user-registration",
        "Delete action slack-new-user",
    ]
    assert [(c.address, c.kind) for c in planned.plan.changes if c.kind == DELETE] == [
        ("auth0.action.slack-new-user", DELETE)
    ]
    apply_plan(planned, None, h.options(destroy=True))

    assert tenant.find_action("slack-new-user") is None
    assert tenant.find_action("deny-tls-fingerprints") is not None
    assert _bindings(h, "post-user-registration") == ["audit-first", "audit-last"]
    assert [(b.id, b.action_id) for b in tenant.list_bindings("pre-user-registration")] == pre_before


def test_target__typo_or_bare_name__error_lists_the_nearest_addresses(h: Harness) -> None:
    example = h.stack("example.yaml")
    h.apply(example)
    with pytest.raises(HookctlError) as typo:
        h.plan(example, targets=("auth0.action.slack-new-usr",))
    assert "--target auth0.action.slack-new-usr matches nothing in example/sandbox" in typo.value.message
    assert "did you mean auth0.action.slack-new-user" in typo.value.message
    with pytest.raises(HookctlError) as bare:
        h.plan(example, destroy=True, targets=("slack-new-user",))
    assert "--target slack-new-user is not a resource address of example/sandbox" in bare.value.message
    assert "did you mean auth0.action.slack-new-user" in bare.value.message


def test_target__plan_and_summary_say_partial(h: Harness) -> None:
    example = h.stack("example.yaml")
    planned = h.plan(example, targets=("auth0.action.deny-tls-fingerprints",))
    text = output.text(planned.plan)
    assert "(partial plan: only auth0.action.deny-tls-fingerprints and what it needs)" in text.splitlines()[0]
    assert planned.plan.summary().endswith(
        "Partial plan: only auth0.action.deny-tls-fingerprints and what it needs; other changes are not included."
    )
    assert "partial" in output.markdown(planned.plan).splitlines()[0]
    assert {c.address for c in planned.plan.changes} == {"auth0.action.deny-tls-fingerprints"}


def test_plan__unmanaged_same_named_action__refused_with_import_hint_and_untouched(h: Harness) -> None:
    theirs = h.emu.tenant.seed_action("slack-new-user", "post-user-registration", NOOP_CODE)
    h.emu.tenant.add_binding("post-user-registration", theirs.id, "theirs")
    h.emu.reset_counts()
    with pytest.raises(OwnershipError) as refused:
        h.plan(h.stack("example.yaml"))
    assert (
        "auth0.action.slack-new-user: an action named slack-new-user exists in the tenant and no hookctl stack "
        "owns it" in refused.value.message
    )
    assert "hookctl import" in (refused.value.hint or "")
    assert h.writes() == {}
    assert h.emu.tenant.get_action(theirs.id).code == NOOP_CODE


def test_plan__action_owned_by_another_stack__refused_naming_it(h: Harness) -> None:
    h.apply(h.stack("example.yaml"))
    path = h.root / "stacks" / "example.yaml"
    path.write_text(path.read_text().replace("stack: example\n", "stack: rival\n"))
    with pytest.raises(OwnershipError) as refused:
        h.plan(str(path))
    message = refused.value.message
    assert "auth0.action.slack-new-user: action slack-new-user is owned by hookctl stack 'example'" in message
    assert "auth0.action.deny-tls-fingerprints: action deny-tls-fingerprints is owned by hookctl stack" in message
    assert h.action("slack-new-user").code.startswith(marker("example", "sandbox"))
