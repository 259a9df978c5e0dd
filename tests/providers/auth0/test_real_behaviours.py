"""Behaviours of the real Auth0 tenant the emulator reproduces, and hookctl converging under them
(issue 12: trigger versions, secret ``updated_at``, failed builds, version order, entity-bound triggers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provisioner.engine.errors import InputError
from provisioner.engine.load import load_stack
from provisioner.providers.auth0.plan import version_key
from provisioner.sandbox.auth0.config import EmulatorConfig
from provisioner.sandbox.auth0.model import DEFAULT_TRIGGERS, TriggerSpec
from provisioner.sandbox.auth0.server import Auth0Emulator

from .conftest import Harness

# -- m. small fixes -------------------------------------------------------------------------------


def test_version_key__orders_trigger_versions_as_numbers() -> None:
    assert version_key("v10") > version_key("v9") > version_key("v2")
    assert sorted(["v10", "v9", "v1"], key=version_key) == ["v1", "v9", "v10"]


def test_list_triggers__v10_wins_over_v9_when_neither_is_marked_current(
    make_harness: Callable[..., Harness],
) -> None:
    others = tuple(t for t in DEFAULT_TRIGGERS if t.id != "post-login")
    runtimes = ("node18-actions", "node22")
    h = make_harness(
        triggers=(
            TriggerSpec("post-login", "v9", "AVAILABLE", runtimes, "node22"),
            TriggerSpec("post-login", "v10", "AVAILABLE", runtimes, "node22"),
            *others,
        )
    )
    client = h.factory(None)[0].client()
    assert client.list_triggers()["post-login"].version == "v10"


def test_load__entity_bound_trigger__refused_at_validate_naming_line_and_field(
    write_stack: Callable[..., str],
) -> None:
    path = write_stack(
        """\
        stack: s
        environments: {dev: {auth0: {}}}
        auth0:
          actions:
            exchange:
              trigger: custom-token-exchange
              template: auth0/x.js.j2
        """
    )
    with pytest.raises(InputError) as caught:
        load_stack(path, "dev")
    message = str(caught.value)
    assert ":6: auth0.actions.exchange.trigger:" in message
    assert "entity-bound" in message and "trigger-bound triggers only" in message


def test_readme__lists_the_triggers_hookctl_accepts_and_names_the_refused_one() -> None:
    from provisioner.engine import catalog
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    start = readme.index("**Auth0 triggers**")
    section = readme[start : readme.index("\n\n", start)]
    listed_part, _, refused_part = section.partition("Not supported:")
    for trigger in catalog.AUTH0_TRIGGERS:
        assert trigger in listed_part, trigger
    for trigger in catalog.AUTH0_ENTITY_BOUND_TRIGGERS:
        assert trigger not in listed_part and trigger in refused_part, trigger


# -- i. trigger versions ---------------------------------------------------------------------------


def _bindings(h: Harness, trigger: str) -> list[tuple[str, str]]:
    return [(b.id, h.emu.tenant.get_action(b.action_id).name) for b in h.emu.tenant.list_bindings(trigger)]


def test_new_trigger_version__upgrades_in_place_keeping_ids_bindings_and_history(h: Harness) -> None:
    h.apply()
    before = {n: h.action(n).id for n in ("slack-new-user", "store-user-id")}
    bound = _bindings(h, "post-user-registration")
    h.emu.tenant.promote_trigger("post-user-registration", "v3")

    planned = h.plan()
    changes = {c.address: c for c in planned.plan.changes}
    assert set(changes) == {"auth0.action.slack-new-user", "auth0.action.store-user-id"}
    for change in changes.values():
        assert change.kind == "update"
        assert [(f.path, f.before, f.after) for f in change.fields] == [("trigger_version", "v2", "v3")]
    methods = sorted(op.method for op in planned.plan.operations)
    assert methods == ["deploy_action", "deploy_action", "update_action", "update_action"]
    for op in planned.plan.operations:
        if op.method == "update_action":
            assert set(op.params) == {"action_id", "name", "supported_triggers"}
            assert op.params["supported_triggers"] == [{"id": "post-user-registration", "version": "v3"}]

    h.emu.reset_counts()
    h.apply()
    writes = h.writes()
    assert writes == {
        ("PATCH", "/api/v2/actions/actions/{id}"): 2,
        ("POST", "/api/v2/actions/actions/{id}/deploy"): 2,
    }, "no unbind, delete, create or bind"
    assert _bindings(h, "post-user-registration") == bound  # same binding ids, same order
    for name, action_id in before.items():
        action = h.action(name)
        assert action.id == action_id
        assert [v.number for v in action.versions] == [1, 2]  # the history rollback needs is kept
        deployed = h.emu.tenant.deployed_version(action)
        assert deployed is not None and deployed.supported_trigger == {"id": "post-user-registration", "version": "v3"}
    assert h.plan().plan.empty
    assert sorted(a.name for a in h.emu.tenant.actions.values()) == sorted(
        ["slack-new-user", "store-user-id", "deny-tls-fingerprints"]
    )


def test_new_trigger_id__replaces_and_the_plan_says_how_long_no_trigger_runs_it(h: Harness) -> None:
    h.apply()
    path = h.root / "stacks" / "auth0-registration.yaml"
    text = path.read_text()
    text = text.replace(
        "    store-user-id:\n      trigger: post-user-registration\n"
        "      template: auth0/post-user-registration/store-user-id.js.j2",
        "    store-user-id:\n      trigger: post-login\n      template: store-user-id-on-login.js.j2",
    )
    # A post-login action exports onExecutePostLogin (validate and plan check the export).
    (h.root / "stacks" / "templates").mkdir(exist_ok=True)
    (h.root / "stacks" / "templates" / "store-user-id-on-login.js.j2").write_text(
        "exports.onExecutePostLogin = async (event, api) => {};\n"
    )
    text = text.replace("        - store-user-id\n        - slack-new-user\n", "        - slack-new-user\n")
    text += "    post-login:\n      bindings: [store-user-id]\n"
    path.write_text(text)

    planned = h.plan()
    change = next(c for c in planned.plan.changes if c.address == "auth0.action.store-user-id")
    assert change.kind == "replace"
    assert "moving from trigger post-user-registration to post-login needs a new action" in change.reason
    assert "no trigger runs it for the length of a build" in change.reason
    from provisioner.engine import output

    assert "no trigger runs it for the length of a build" in output.text(planned.plan)

    h.apply()
    assert [n for _, n in _bindings(h, "post-login")] == ["store-user-id"]
    assert [n for _, n in _bindings(h, "post-user-registration")] == ["slack-new-user"]
    assert sorted(a.name for a in h.emu.tenant.actions.values()) == sorted(
        ["slack-new-user", "store-user-id", "deny-tls-fingerprints"]
    )
    assert h.plan().plan.empty


def test_emulator_promote_trigger__listed_like_the_real_catalogue_and_kept_across_restarts(
    tmp_path: Path,
) -> None:
    first = Auth0Emulator(EmulatorConfig(), state_dir=tmp_path)
    first.tenant.promote_trigger("post-user-registration", "v3")
    first.save(tmp_path)
    again = Auth0Emulator(EmulatorConfig(), state_dir=tmp_path)
    listed = {(t.id, t.version): t for t in again.tenant.triggers if t.id == "post-user-registration"}
    assert listed[("post-user-registration", "v3")].status == "CURRENT"
    assert listed[("post-user-registration", "v3")].compatible_triggers == (("post-user-registration", "v2"),)
    assert listed[("post-user-registration", "v2")].status == "DEPRECATED"
    with pytest.raises(ValueError, match="already has version"):
        again.tenant.promote_trigger("post-user-registration", "v3")


# -- k. secret updated_at after a PATCH without secrets -------------------------------------------


@pytest.mark.parametrize("restamp", [True, False], ids=["patch-restamps-secrets", "patch-keeps-stamps"])
def test_code_only_update__never_reported_as_rotated_outside_under_either_behaviour(
    make_harness: Callable[..., Harness], restamp: bool
) -> None:
    h = make_harness(restamp_secrets_on_patch=restamp)
    h.apply()
    stamp = h.action("slack-new-user").secrets[0].updated_at
    path = h.root / "stacks" / "auth0-registration.yaml"
    path.write_text(path.read_text().replace('channel: "#signups-sandbox"', 'channel: "#signups-new"'))
    planned = h.plan()
    update = next(op for op in planned.plan.operations if op.method == "update_action")
    assert set(update.params) == {"action_id", "name", "code"}  # a PATCH without `secrets`
    h.apply()
    restamped = h.action("slack-new-user").secrets[0].updated_at
    assert (restamped > stamp) is restamp, "the emulator models the configured behaviour"

    again = h.plan()
    assert again.plan.empty, [(c.address, c.reason) for c in again.plan.changes]
    assert h.emu.tenant.secret_value(h.action("slack-new-user").id, "SLACK_WEBHOOK_URL") is not None

    # A real rotation outside hookctl still shows, under either behaviour, and is undone.
    h.emu.tenant.rotate_secret(h.action("slack-new-user").id, "SLACK_WEBHOOK_URL", "https://elsewhere.test/x")
    change = next(c for c in h.plan().plan.changes if c.address == "auth0.action.slack-new-user")
    assert "secret SLACK_WEBHOOK_URL rotated outside hookctl" in change.reason
    h.apply()
    assert h.plan().plan.empty
    assert [a.name for a in h.emu.tenant.actions.values()].count("slack-new-user") == 1


# -- l. failed builds -----------------------------------------------------------------------------


def _needs_missing_package(h: Harness, version: str | None = "17.7.1") -> None:
    """deny-tls-fingerprints depends on crypto@17.7.1, the dependency of the recorded failed build."""
    path = h.root / "stacks" / "auth0-registration.yaml"
    text = path.read_text()
    line = "      template: auth0/pre-user-registration/deny-tls-fingerprints.js.j2\n"
    text = text.replace(line + '      dependencies: {crypto: "17.7.1"}\n', line)
    if version is not None:
        text = text.replace(line, line + f'      dependencies: {{crypto: "{version}"}}\n')
    path.write_text(text)


def test_failed_build__reported_then_not_redeployed_until_the_stack_changes(h: Harness) -> None:
    from provisioner.engine import output
    from provisioner.engine.errors import ApplyError

    _needs_missing_package(h)
    with pytest.raises(ApplyError) as caught:
        h.apply()
    message = str(caught.value)
    assert "the build failed: Auth0 returns no build log for a draft" in message
    assert "check that npm has each dependency: crypto@17.7.1" in message
    assert "no error detail" not in message

    # The next plan shows the failed draft and proposes nothing: deploying it again would fail again.
    planned = h.plan()
    change = next(c for c in planned.plan.changes if c.address == "auth0.action.deny-tls-fingerprints")
    assert change.kind == "no-op"
    assert "the last build failed" in change.reason and "nothing to deploy until" in change.reason
    assert "it stays undeployed and unbound" in change.reason
    # Nothing else: at most the binding of post-user-registration, which does not depend on the failed
    # action and ran beside it unless the failure stopped the apply first (operations run in parallel).
    assert [op.description for op in planned.plan.operations] in (
        [],
        ["Bind trigger post-user-registration: store-user-id, slack-new-user"],
    )
    h.apply()
    planned = h.plan()
    assert planned.plan.empty and [c.kind for c in planned.plan.changes] == ["no-op"]
    shown = output.text(planned.plan)
    assert "! auth0.action.deny-tls-fingerprints (no-op)" in shown and "Nothing to apply" in shown
    h.emu.reset_counts()
    h.apply()
    assert h.writes() == {}

    # Changing the dependency is a change: update, build, deploy and bind, then an empty plan.
    _needs_missing_package(h, "1.0.1")
    planned = h.plan()
    assert [op.method for op in planned.plan.operations if "deny-tls" in op.address or "pre-user" in op.address] == [
        "update_action",
        "deploy_action",
        "set_bindings",
    ]
    h.apply()
    assert h.plan().plan.empty
    action = h.action("deny-tls-fingerprints")
    assert [v.number for v in action.versions] == [1]
    assert [h.emu.tenant.get_action(b.action_id).name for b in h.emu.tenant.list_bindings("pre-user-registration")] == [
        "deny-tls-fingerprints"
    ]
    assert sorted(a.name for a in h.emu.tenant.actions.values()) == sorted(
        ["slack-new-user", "store-user-id", "deny-tls-fingerprints"]
    )


def test_failed_build_of_a_deployed_action__old_version_keeps_running_and_plan_says_so(h: Harness) -> None:
    h.apply()
    _needs_missing_package(h)
    with pytest.raises(Exception, match="the build failed"):
        h.apply()
    planned = h.plan()
    change = next(c for c in planned.plan.changes if c.address == "auth0.action.deny-tls-fingerprints")
    assert change.kind == "no-op" and "the trigger still runs version 1" in change.reason
    assert planned.plan.empty
    _needs_missing_package(h, None)  # back to what is deployed: the draft is rewritten and deployed again
    h.apply()
    assert h.plan().plan.empty


def test_build_errors__read_from_a_failed_version_through_the_api(h: Harness) -> None:
    """A version carries its build errors (ActionVersion.errors); hookctl shows them."""
    from auth0.management import ManagementClient
    from auth0.management.types import ActionTrigger

    from provisioner.providers.auth0.plan import build_failure

    mgmt = ManagementClient(domain=h.emu.domain, token=h.emu.issue_token())
    created = mgmt.actions.create(
        name="deployed-broken",
        supported_triggers=[ActionTrigger(id="post-login", version="v3")],
        code="exports.onExecutePostLogin = async () => {};",
        dependencies=[{"name": "crypto", "version": "17.7.1"}],
        deploy=True,
    )
    assert created.id
    live = h.factory(None)[0].client().get_action(created.id, "deployed-broken")
    assert live.status == "failed"
    assert build_failure(live) == "No matching version found for crypto@17.7.1."


def test_tenant_listing_v9_and_v10__actions_target_v10_and_converge(make_harness: Callable[..., Harness]) -> None:
    others = tuple(t for t in DEFAULT_TRIGGERS if t.id != "post-user-registration")
    runtimes = ("node18-actions", "node22")
    h = make_harness(
        triggers=(
            TriggerSpec("post-user-registration", "v9", "AVAILABLE", runtimes, "node22"),
            TriggerSpec("post-user-registration", "v10", "AVAILABLE", runtimes, "node22"),
            *others,
        )
    )
    h.apply()
    for name in ("slack-new-user", "store-user-id"):
        assert h.action(name).supported_trigger == {"id": "post-user-registration", "version": "v10"}
    assert h.plan().plan.empty
    assert sorted(a.name for a in h.emu.tenant.actions.values()) == sorted(
        ["slack-new-user", "store-user-id", "deny-tls-fingerprints"]
    )


def test_emulator_command__switches_for_these_behaviours(tmp_path: Path) -> None:
    """`python -m provisioner.sandbox.auth0` can promote a trigger version and keep secret stamps."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "provisioner.sandbox.auth0", "--promote", "post-login=v4", "--keep-secret-stamps"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        lines: dict[str, str] = {}
        while "token" not in lines:
            key, _, value = proc.stdout.readline().partition(":")
            lines[key.strip()] = value.strip()
        import ssl

        context = ssl.create_default_context(cafile=lines["ca file"])

        def call(method: str, path: str, body: object = None) -> Any:
            request = urllib.request.Request(
                f"https://{lines['domain']}/api/v2{path}",
                data=None if body is None else json.dumps(body).encode(),
                method=method,
                headers={"authorization": f"Bearer {lines['token']}", "content-type": "application/json"},
            )
            with urllib.request.urlopen(request, context=context, timeout=30) as answer:
                return json.load(answer)

        statuses = {
            t["version"]: t["status"] for t in call("GET", "/actions/triggers")["triggers"] if t["id"] == "post-login"
        }
        assert statuses["v4"] == "CURRENT" and statuses["v3"] == "DEPRECATED"
        created = call(
            "POST",
            "/actions/actions",
            {
                "name": "a",
                "supported_triggers": [{"id": "post-login", "version": "v4"}],
                "code": "exports.onExecutePostLogin = async () => {};",
                "secrets": [{"name": "S", "value": "v"}],
            },
        )
        patched = call("PATCH", f"/actions/actions/{created['id']}", {"code": "// changed\n"})
        assert patched["secrets"] == created["secrets"]  # --keep-secret-stamps
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
