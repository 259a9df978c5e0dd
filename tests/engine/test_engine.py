"""Pure engine pieces: plan data, the executor, state and locks. No I/O beyond tmp files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from provisioner.engine.errors import ApplyError, HookctlError, LockError, StaleError
from provisioner.engine.execute import Executor
from provisioner.engine.plan import (
    Operation,
    Plan,
    Ref,
    SecretValue,
    order,
    plan_from_json,
    plan_to_json,
)
from provisioner.engine.secrets import Secret, secret_hash
from provisioner.engine.state import LocalBackend, State
from provisioner.providers.base import Client


class RecordingClient(Client):
    OPERATIONS: ClassVar[frozenset[str]] = frozenset({"make", "use", "boom"})

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def make(self, name: str) -> dict[str, Any]:
        self.calls.append(("make", {"name": name}))
        return {"id": f"id-{name}"}

    def use(self, ref: str, value: str | None = None) -> dict[str, Any]:
        self.calls.append(("use", {"ref": ref, "value": value}))
        return {}

    def boom(self) -> None:
        raise HookctlError("the provider said no")

    def not_an_operation(self) -> None:  # pragma: no cover - must never be reachable from a plan
        raise AssertionError


def _state() -> State:
    return State("s", "e", digest_key="salt")


def _plan(*ops: Operation) -> Plan:
    return Plan("s", "e", "rev", "fp", (), ops)


def test_executor__resolves_refs_from_earlier_results_and_records_state() -> None:
    client = RecordingClient()
    state = _state()
    saves: list[int] = []
    ops = (
        Operation("a", "p", "make", {"name": "x"}, "Make x", "p.x", record={"p.x": {"id": Ref("a", ("id",))}}),
        Operation("b", "p", "use", {"ref": Ref("a", ("id",))}, "Use x", "p.x", depends_on=("a",)),
    )
    Executor({"p": client}, state, {}, save=lambda s: saves.append(s.serial)).run(_plan(*ops))
    assert client.calls == [("make", {"name": "x"}), ("use", {"ref": "id-x", "value": None})]
    assert state.resources == {"p.x": {"id": "id-x"}}
    assert len(saves) == 1  # saved right after the operation that recorded state


def test_executor__method_not_offered_by_client__refused() -> None:
    op = Operation("a", "p", "not_an_operation", {}, "Sneaky", "p.x")
    with pytest.raises(ApplyError, match="not an operation it offers"):
        Executor({"p": RecordingClient()}, _state(), {}, save=lambda s: None).run(_plan(op))


def test_executor__failure__names_operation_and_what_is_done() -> None:
    ops = (
        Operation("a", "p", "make", {"name": "x"}, "Make x", "p.x"),
        Operation("b", "p", "boom", {}, "Explode", "p.y"),
    )
    with pytest.raises(ApplyError) as caught:
        Executor({"p": RecordingClient()}, _state(), {}, save=lambda s: None).run(_plan(*ops))
    assert str(caught.value).startswith("Explode: the provider said no\nAlready done: Make x.")


def test_executor__secret_changed_since_plan__stale_and_value_not_in_message() -> None:
    planned_hash = secret_hash("old-value", "salt")
    op = Operation("a", "p", "use", {"ref": "r", "value": SecretValue("p.x", "TOKEN", planned_hash)}, "Use", "p.x")
    secrets = {("p.x", "TOKEN"): Secret("TOKEN", "new-value-9f2")}
    with pytest.raises(StaleError) as caught:
        Executor({"p": RecordingClient()}, _state(), secrets, save=lambda s: None).run(_plan(op))
    assert "new-value-9f2" not in str(caught.value) and "old-value" not in str(caught.value)


def test_executor__secret_unchanged__value_reaches_the_client_only() -> None:
    client = RecordingClient()
    op = Operation(
        "a", "p", "use", {"ref": "r", "value": SecretValue("p.x", "T", secret_hash("v1", "salt"))}, "U", "p.x"
    )
    Executor({"p": client}, _state(), {("p.x", "T"): Secret("T", "v1")}, save=lambda s: None).run(_plan(op))
    assert client.calls == [("use", {"ref": "r", "value": "v1"})]


def test_plan_json__round_trips_refs_and_secret_placeholders_without_values() -> None:
    op = Operation(
        "a",
        "p",
        "use",
        {"x": [Ref("b", ("id",)), SecretValue("p.x", "T", "scrypt$h")]},
        "d",
        "p.x",
        record={"p.x": None},
    )
    text = json.dumps(plan_to_json(_plan(op)))
    again = plan_from_json(json.loads(text))
    assert again.operations[0].params == {"x": [Ref("b", ("id",)), SecretValue("p.x", "T", "scrypt$h")]}
    assert again.operations[0].record == {"p.x": None}


def test_plan_json__wrong_format_or_version__rejected() -> None:
    with pytest.raises(ValueError, match="not a hookctl plan"):
        plan_from_json({"format": "terraform"})
    with pytest.raises(ValueError, match="version"):
        plan_from_json({"format": "hookctl-plan", "format_version": 99})


def test_order__dependencies_first_otherwise_planner_order() -> None:
    ops = [
        Operation("bind", "p", "use", {}, "", "", depends_on=("deploy",)),
        Operation("create", "p", "make", {}, "", ""),
        Operation("deploy", "p", "use", {}, "", "", depends_on=("create",)),
    ]
    assert [op.id for op in order(ops)] == ["create", "deploy", "bind"]


def test_secret__never_prints_its_value() -> None:
    secret = Secret("TOKEN", "hunter2-very-secret")
    assert "hunter2" not in f"{secret} {secret!r} {[secret]} {secret:>30}"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secret)


def test_secret_hash__keyed_and_stable() -> None:
    assert secret_hash("v", "a") == secret_hash("v", "a")
    assert secret_hash("v", "a") != secret_hash("v", "b")
    assert secret_hash("v", "a").startswith("hmac-sha256$") and len(secret_hash("v", "a")) > 40


def test_local_lock__second_holder_fails_at_once_naming_first(tmp_path: Path) -> None:
    first = LocalBackend(str(tmp_path), "s", "e")
    second = LocalBackend(str(tmp_path), "s", "e")
    with first.locked("apply") as held:
        with pytest.raises(LockError, match=f"lock {held.id} held by"):
            second.acquire("apply")
        with pytest.raises(HookctlError, match="does not match"):
            second.unlock("wrong-id")
    second.acquire("apply")  # released on exit


def test_state__write_read_round_trip_and_serial(tmp_path: Path) -> None:
    backend = LocalBackend(str(tmp_path), "s", "e")
    state = backend.read()
    state.patch("a.b", {"id": "1", "secrets": {"T": {"hash": "scrypt$x"}}})
    backend.write(state)
    again = backend.read()
    assert again.resources == state.resources and again.serial == 1 and again.salt == state.salt
    again.patch("a.b", None)
    assert again.resources == {}


def test_executor__secret_changed_in_a_later_operation__nothing_runs_at_all() -> None:
    client = RecordingClient()
    ops = (
        Operation("a", "p", "make", {"name": "x"}, "Make x", "p.x"),
        Operation(
            "b", "p", "use", {"ref": "r", "value": SecretValue("p.y", "T", secret_hash("old", "salt"))}, "U", "p.y"
        ),
    )
    with pytest.raises(StaleError, match="nothing was applied"):
        Executor({"p": client}, _state(), {("p.y", "T"): Secret("T", "new")}, save=lambda s: None).run(_plan(*ops))
    assert client.calls == []
