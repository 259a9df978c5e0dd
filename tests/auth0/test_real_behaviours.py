"""Behaviours of the real Auth0 tenant the emulator reproduces, and hookctl converging under them
(issue 12: trigger versions, secret ``updated_at``, failed builds, version order, entity-bound triggers)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from provisioner.errors import InputError
from provisioner.load import load_stack
from provisioner.providers.auth0 import version_key
from provisioner.sandbox.auth0 import DEFAULT_TRIGGERS, TriggerSpec

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
    from provisioner import catalog
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    start = readme.index("**Auth0 triggers**")
    section = readme[start : readme.index("\n\n", start)]
    listed_part, _, refused_part = section.partition("Not supported:")
    for trigger in catalog.AUTH0_TRIGGERS:
        assert trigger in listed_part, trigger
    for trigger in catalog.AUTH0_ENTITY_BOUND_TRIGGERS:
        assert trigger not in listed_part and trigger in refused_part, trigger
