"""Secret digests are keyed with a key kept in state: ``--json`` and ``--markdown`` carry no
digests, a plan file carries keyed digests only, so a leaked plan allows no offline guessing
(issue 11, item 8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provisioner.engine.errors import StaleError
from provisioner.engine.pipeline import check_digest_key
from provisioner.engine.plan import Operation, Plan, SecretValue
from provisioner.engine.secrets import Secret, legacy_hash, migrate_legacy_digests, secret_hash
from provisioner.engine.state import State

from .harness import STACK_SECRET, PullRequest

STACK = """\
stack: digests
environments:
  ci:
    auth0: {domain: exampleco.us.auth0.com}
auth0:
  actions:
    notify:
      trigger: post-user-registration
      template: auth0/post-user-registration/slack-notify.js.j2
      vars: {channel: "#signups", prefix: "New User: "}
      dependencies: {"@slack/webhook": "8.0.2"}
      secrets:
        SLACK_WEBHOOK_URL: {env: SLACK_WEBHOOK_URL}
"""
TARGET = ("-s", "stacks/digests.yaml", "-e", "ci")


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_plan_outputs__no_digest_in_json_or_markdown__plan_file_keyed_with_a_key_it_does_not_hold(
    pr: PullRequest,
) -> None:
    pr.write("stacks/digests.yaml", STACK)
    store = {"HOOKCTL_FAKE_STORE": str(pr.root / "live.json")}
    as_json = pr.hk("plan", *TARGET, "--json", "--out", "plan.hookctl", **store)
    markdown = pr.hk("plan", *TARGET, "--markdown", "--out", "plan-md.hookctl", **store)
    text = pr.hk("plan", *TARGET, **store)
    for run in (as_json, markdown, text):
        assert run.code == 0, run.all
        assert "hmac-sha256$" not in run.out and "scrypt$" not in run.out
    document = json.loads(as_json.out)
    assert "salt" not in document
    assert '{"$secret": "auth0.action.notify", "name": "SLACK_WEBHOOK_URL"}' in json.dumps(document["operations"])

    plan_file = json.loads((pr.root / "plan.hookctl").read_text())
    state = json.loads((pr.root / ".hookctl/state/digests/ci.json").read_text())
    key = state["digest_key"]
    assert len(key) == 64  # recorded by the first plan, so apply can check the plan's digests
    strings = _strings(plan_file)
    digest = secret_hash(STACK_SECRET, key)
    assert digest in strings  # the plan file can be checked at apply ...
    assert key not in json.dumps(plan_file)  # ... but holds no key to guess with,
    assert all(secret_hash(STACK_SECRET, s) not in strings for s in strings)  # nor anything that works as one
    assert all(legacy_hash(STACK_SECRET, s) not in strings for s in strings if len(s) == 32)
    assert "salt" not in plan_file

    shown = pr.hk("state", "show", *TARGET)
    assert key not in shown.out and '"digest_key": "(secret)"' in shown.out
    applied = pr.hk("apply", "plan.hookctl", **store)
    assert applied.code == 0, applied.all
    pr.assert_clean()


def test_apply__plan_made_with_another_digest_key__refused_before_anything_runs(tmp_path: Path) -> None:
    state = State("s", "e")
    op = Operation("a", "p", "use", {"value": SecretValue("p.x", "T", secret_hash("v", "other"))}, "Use", "p.x")
    with pytest.raises(StaleError, match="made with a digest key this state does not hold"):
        check_digest_key(Plan("s", "e", "rev", "fp", (), (op,), key_id="0123456789abcdef"), state)


def test_legacy_state__scrypt_hash_of_the_same_value__rekeyed_so_no_false_change() -> None:
    resources: dict[str, dict[str, Any]] = {
        "auth0.action.a": {"secrets": {"T": {"hash": legacy_hash("same", "oldsalt")}}},
        "auth0.action.b": {"secrets": {"T": {"hash": legacy_hash("before", "oldsalt")}}},
    }
    values = {("auth0.action.a", "T"): Secret("T", "same"), ("auth0.action.b", "T"): Secret("T", "after")}
    migrate_legacy_digests(resources, values, "oldsalt", "key")
    assert resources["auth0.action.a"]["secrets"]["T"]["hash"] == secret_hash("same", "key")
    assert resources["auth0.action.b"]["secrets"]["T"]["hash"].startswith("scrypt$")  # changed: stays different
