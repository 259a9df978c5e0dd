"""A secret hookctl cannot compare is unknown, not changed; sending it again is an explicit choice."""

from __future__ import annotations

import shutil

from provisioner.engine import output
from provisioner.engine.plan import NOOP, UPDATE

from .conftest import SLACK_URL, Harness

REASON = (
    "secret SLACK_WEBHOOK_URL unknown: not recorded in state, and Auth0 never returns secret values, so hookctl "
    "cannot compare it"
)


def _fresh_runner(h: Harness) -> None:
    """Everything applied, then the state lost (a fresh CI runner on local state)."""
    h.apply()
    shutil.rmtree(h.root / "state")


def test_plan__fresh_runner__unchanged_secret_shown_unknown_and_kept(h: Harness) -> None:
    _fresh_runner(h)
    versions = len(h.action("slack-new-user").versions)
    planned = h.plan()
    assert planned.plan.empty  # nothing to do: unknown is not changed
    change = next(c for c in planned.plan.changes if c.address == "auth0.action.slack-new-user")
    assert change.kind == NOOP
    assert (
        change.reason == REASON + "; apply keeps the live value (--unknown-secrets send would send the stack's value)"
    )
    text = output.text(planned.plan)
    assert "(changed)" not in text and REASON in text
    h.emu.reset_counts()
    h.apply()
    assert h.writes() == {}
    assert len(h.action("slack-new-user").versions) == versions


def test_plan__fresh_runner_and_send__secret_sent_again_and_recorded(h: Harness) -> None:
    _fresh_runner(h)
    versions = len(h.action("slack-new-user").versions)
    planned = h.plan(extra={"unknown_secrets": "send"})
    change = next(c for c in planned.plan.changes if c.address == "auth0.action.slack-new-user")
    assert change.kind == UPDATE
    assert change.reason == REASON + "; apply sends the stack's value (--unknown-secrets send)"
    assert (
        "~ secrets.SLACK_WEBHOOK_URL = (sensitive) (unknown: not recorded in state) -> the stack's value, sent again"
        in output.text(planned.plan)
    )
    from provisioner.engine.pipeline import apply_plan

    apply_plan(planned, None, h.options())
    assert len(h.action("slack-new-user").versions) == versions + 1
    assert h.emu.tenant.secret_value(h.action("slack-new-user").id, "SLACK_WEBHOOK_URL") == SLACK_URL
    assert h.plan().plan.changes == ()  # recorded now: known and unchanged
