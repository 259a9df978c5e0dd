"""Auth0's entity limits are checked at plan time, counted with what the tenant already holds."""

from __future__ import annotations

import pytest

from provisioner.engine.errors import LimitError

from .conftest import Harness

NOOP = "exports.onExecutePostUserRegistration = async () => {};"


def test_plan__stack_plus_tenant_over_100_actions__refused_with_numbers_and_nothing_written(h: Harness) -> None:
    for i in range(98):
        h.emu.tenant.seed_action(f"other-{i:02d}", "post-login", "exports.onExecutePostLogin = async () => {};")
    h.emu.reset_counts()
    with pytest.raises(LimitError) as refused:
        h.plan()  # the stack declares 3 actions
    assert (
        "auth0: the tenant has 98 actions and this plan creates 3: 101, over Auth0's limit of 100 actions per "
        "tenant; remove at least 1 new action(s) from the stack" in refused.value.message
    )
    assert h.writes() == {}
    assert h.emu.tenant.find_action("slack-new-user") is None


def test_plan__unmanaged_plus_declared_bindings_over_20__refused_before_any_action_is_created(h: Harness) -> None:
    for i in range(19):
        other = h.emu.tenant.seed_action(f"audit-{i:02d}", "post-user-registration", NOOP)
        h.emu.tenant.add_binding("post-user-registration", other.id)
    h.emu.reset_counts()
    with pytest.raises(LimitError) as refused:
        h.plan()  # binds store-user-id and slack-new-user there
    assert (
        "auth0.trigger.post-user-registration: 21 bindings (19 not managed by this stack + 2 of this stack), over "
        "Auth0's limit of 20 per trigger; remove at least 1 binding(s)" in refused.value.message
    )
    assert h.writes() == {}
    assert h.emu.tenant.find_action("store-user-id") is None


def test_plan__exactly_at_the_limits__planned_and_applied(h: Harness) -> None:
    for i in range(97):
        h.emu.tenant.seed_action(f"other-{i:02d}", "post-login", "exports.onExecutePostLogin = async () => {};")
    h.apply()
    assert len(h.emu.tenant.actions) == 100
    assert h.plan().plan.empty
