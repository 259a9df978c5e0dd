"""Import and adopt against the Auth0 emulator: bindings kept in order, unselected actions untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.adopt.adoption import Adoption, NotAdoptable, adopt, adoption_text
from provisioner.adopt.importing import missing_env, write_import
from provisioner.adopt.stackfile import NotImportable, Selection, import_live
from provisioner.engine.errors import OwnershipError
from provisioner.engine.load import load_stack
from provisioner.providers.auth0.plan import marker, owned_names

from .conftest import Live

# Code a template engine would trip over: Jinja syntax, and a literal end of a raw block.
AUDIT_CODE = """\
exports.onExecutePostLogin = async (event, api) => {
  if (event.user) {{ console.log("nested block {{ not a template }}"); }}
  const marker = "{% endraw %} and {#- not a comment -#}";
  api.user.setAppMetadata("audited", marker.length > 0);
};
"""
RISK_CODE = "exports.onExecutePostLogin = async (event, api) => { api.access.deny && null; };\n"
GUARD_CODE = "exports.onExecutePreUserRegistration = async (event, api) => {};\n"
AUDIT_KEY = "sk_live_audit-4f1c9e77b2"
GUARD_KEY = "guard-key-0b9a2d55e1"


def _seed(live: Live) -> dict[str, str]:
    """Three selected post-login actions (two bound, in a non-alphabetical order, around an unmanaged
    binding; one unbound), a selected pre-user-registration action, and an unselected bound one."""
    assert live.emu is not None
    t = live.emu.tenant
    audit = t.seed_action(
        "app-audit",
        "post-login",
        AUDIT_CODE,
        secrets={"API_KEY": AUDIT_KEY},
        dependencies=[{"name": "axios", "version": "1.6.0"}],
    )
    risk = t.seed_action("app-risk", "post-login", RISK_CODE, runtime="node18-actions")
    vendor = t.seed_action("vendor-thing", "post-login")
    t.seed_action("app-unbound", "post-login")
    guard = t.seed_action("app-signup-guard", "pre-user-registration", GUARD_CODE, secrets={"API_KEY": GUARD_KEY})
    other = t.seed_action("other-team", "pre-user-registration", GUARD_CODE)
    t.add_binding("post-login", risk.id)
    t.add_binding("post-login", vendor.id, "Vendor (installed from the marketplace)")
    t.add_binding("post-login", audit.id)
    t.add_binding("pre-user-registration", other.id)
    t.add_binding("pre-user-registration", guard.id)
    return {"audit": audit.id, "risk": risk.id, "vendor": vendor.id, "guard": guard.id, "other": other.id}


def _bindings(live: Live, trigger: str) -> list[str]:
    assert live.emu is not None
    t = live.emu.tenant
    return [t.get_action(b.action_id).name for b in t.list_bindings(trigger)]


def _import(live: Live, *patterns: str) -> list[str]:
    imported = import_live("imported", "prod", live.read_auth0(), None, Selection(tuple(patterns)))
    return write_import(imported, live.stack_path)


def _yes(shown: list[str]) -> object:
    def confirm(adoption: Adoption) -> bool:
        shown.append(adoption_text(adoption))
        return True

    return confirm


def test_import_then_adopt__bindings_kept_in_order_and_plan_empty(tenant: Live) -> None:
    ids = _seed(tenant)
    _import(tenant, "app-*")
    stack = load_stack(tenant.stack_path, "prod")
    assert [a.name for a in stack.actions] == ["app-risk", "app-audit", "app-unbound", "app-signup-guard"]
    assert {tb.trigger: tb.actions for tb in stack.bindings} == {
        "post-login": ("app-risk", "app-audit"),
        "pre-user-registration": ("app-signup-guard",),
    }
    audit = next(a for a in stack.actions if a.name == "app-audit")
    assert dict(audit.dependencies) == {"axios": "1.6.0"}
    assert next(a for a in stack.actions if a.name == "app-risk").runtime == "node18"
    # Both actions call their secret API_KEY: each reads its own variable.
    assert [(s.name, s.source, s.locator) for s in audit.secrets] == [("API_KEY", "env", "APP_AUDIT_API_KEY")]
    tenant.environ.update(APP_AUDIT_API_KEY=AUDIT_KEY, APP_SIGNUP_GUARD_API_KEY=GUARD_KEY)

    # Not owned yet: a plain plan refuses the same-named actions until they are adopted.
    with pytest.raises(OwnershipError, match="app-audit exists in the tenant and no hookctl stack owns it"):
        tenant.plan()

    shown: list[str] = []
    result = adopt(tenant.stack_path, "prod", tenant.factory, tenant.options(), confirm=_yes(shown))
    assert result.remaining == ()
    assert tenant.plan().plan.empty

    assert tenant.emu is not None
    t = tenant.emu.tenant
    own = marker("imported", "prod")
    assert t.get_action(ids["audit"]).code == own + AUDIT_CODE
    assert t.deployed_version(t.get_action(ids["audit"])).code == own + AUDIT_CODE  # type: ignore[union-attr]
    assert t.secret_value(ids["audit"], "API_KEY") == AUDIT_KEY
    assert t.secret_value(ids["guard"], "API_KEY") == GUARD_KEY
    assert _bindings(tenant, "post-login") == ["app-risk", "vendor-thing", "app-audit"]
    assert _bindings(tenant, "pre-user-registration") == ["other-team", "app-signup-guard"]
    # Nothing unselected became hookctl's.
    live_actions = tenant.auth0_client().list_actions()
    assert owned_names(live_actions, "imported", "prod") == {"app-audit", "app-risk", "app-unbound", "app-signup-guard"}
    assert t.get_action(ids["vendor"]).code.startswith("exports.")
    assert "secret API_KEY written from the environment" in shown[0]
    for text in [*shown, *(Path(p).read_text() for p in Path(tenant.root / "stacks").rglob("*") if p.is_file())]:
        assert AUDIT_KEY not in text and GUARD_KEY not in text


def test_adopt__twice__second_has_nothing_to_do(tenant: Live) -> None:
    _seed(tenant)
    _import(tenant, "app-risk")
    adopt(tenant.stack_path, "prod", tenant.factory, tenant.options(), confirm=lambda _a: True)
    tenant.emu.reset_counts()  # type: ignore[union-attr]
    again = adopt(tenant.stack_path, "prod", tenant.factory, tenant.options(), confirm=lambda _a: False)
    assert again.done == () and tenant.writes() == {}


def test_adopt__declined__writes_nothing(tenant: Live) -> None:
    from provisioner.engine.errors import AbortedError

    _seed(tenant)
    _import(tenant, "app-risk")
    tenant.emu.reset_counts()  # type: ignore[union-attr]
    with pytest.raises(AbortedError):
        adopt(tenant.stack_path, "prod", tenant.factory, tenant.options(), confirm=lambda _a: False)
    assert tenant.writes() == {}


def test_adopt__action_edited_after_import__refused_and_nothing_written(tenant: Live) -> None:
    ids = _seed(tenant)
    _import(tenant, "app-risk")
    assert tenant.emu is not None
    tenant.emu.tenant.edit_action(ids["risk"], code=RISK_CODE + "// hotfix\n")
    tenant.emu.reset_counts()
    with pytest.raises(NotAdoptable, match=r"auth0.action.app-risk: drift: the draft differs"):
        adopt(tenant.stack_path, "prod", tenant.factory, tenant.options(), confirm=lambda _a: True)
    assert tenant.writes() == {}


def test_import__unimportable_selected__all_named_and_nothing_written(tenant: Live) -> None:
    assert tenant.emu is not None
    t = tenant.emu.tenant
    t.seed_action("old-version", "post-login", version="v2", runtime="node18")
    t.seed_action("theirs", "post-login", marker("billing", "prod") + RISK_CODE)
    t.seed_action("crlf", "post-login", "exports.onExecutePostLogin = async () => {};\r\n")
    t.seed_action("fine", "post-login")
    with pytest.raises(NotImportable) as caught:
        import_live("imported", "prod", tenant.read_auth0(), None)
    text = caught.value.message
    assert "auth0.action.old-version: targets post-login@v2" in text
    assert "auth0.action.theirs: already managed by hookctl stack 'billing' environment 'prod'" in text
    assert "auth0.action.crlf: its code has CR" in text
    assert "fine" not in text
    assert not Path(tenant.stack_path).exists()
    # Leaving them out imports the rest.
    imported = import_live("imported", "prod", tenant.read_auth0(), None, Selection(("fine",)))
    assert [a.name for a in imported.actions] == ["fine"]


def test_import__existing_files__refused_without_force(tenant: Live) -> None:
    _seed(tenant)
    _import(tenant, "app-risk")
    with pytest.raises(Exception, match="refusing to overwrite"):
        _import(tenant, "app-risk")
    imported = import_live("imported", "prod", tenant.read_auth0(), None, Selection(("app-risk",)))
    assert write_import(imported, tenant.stack_path, force=True)


def test_missing_env__names_only(tenant: Live) -> None:
    _seed(tenant)
    imported = import_live("imported", "prod", tenant.read_auth0(), None, Selection(("app-*",)))
    assert missing_env(imported, {"APP_AUDIT_API_KEY": "x"}) == ["APP_SIGNUP_GUARD_API_KEY"]
