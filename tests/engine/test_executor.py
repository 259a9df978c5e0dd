"""The graph executor: dependency order under parallelism, failures, determinism and progress."""

from __future__ import annotations

import io
import random
import threading
import time
from typing import Any, ClassVar

import pytest

from provisioner.engine import progress
from provisioner.engine.errors import ApplyError, HookctlError
from provisioner.engine.execute import Executor, Gate
from provisioner.engine.plan import Operation, Plan, Ref
from provisioner.engine.state import State
from provisioner.providers.base import Client


class GraphClient(Client):
    """Records when each operation starts and ends; ``hold`` keeps one running until released."""

    OPERATIONS: ClassVar[frozenset[str]] = frozenset({"step", "fail"})

    def __init__(self, jitter: random.Random | None = None) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []
        self.running = 0
        self.peak = 0
        self.jitter = jitter
        self.gates: dict[str, threading.Event] = {}

    def _enter(self, name: str) -> None:
        with self.lock:
            self.events.append(("start", name))
            self.running += 1
            self.peak = max(self.peak, self.running)

    def _leave(self, name: str) -> None:
        with self.lock:
            self.events.append(("end", name))
            self.running -= 1

    def step(self, name: str, needs: list[str] | None = None) -> dict[str, Any]:
        self._enter(name)
        gate = self.gates.get(name)
        if gate is not None:
            assert gate.wait(10), f"{name} was never released"
        if self.jitter is not None:
            with self.lock:
                pause = self.jitter.random() * 0.01
            time.sleep(pause)
        self._leave(name)
        return {"id": f"id-{name}", "needs": needs or []}

    def fail(self, name: str) -> None:
        self._enter(name)
        self._leave(name)
        raise HookctlError(f"{name} refused")


def _op(name: str, *deps: str, method: str = "step", params: dict[str, Any] | None = None) -> Operation:
    return Operation(
        name,
        "p",
        method,
        params if params is not None else {"name": name},
        f"Do {name}",
        f"p.{name}",
        depends_on=deps,
        record={f"p.{name}": {"id": Ref(name, ("id",))}} if method == "step" else None,
    )


def _plan(*ops: Operation) -> Plan:
    return Plan("s", "e", "rev", "fp", (), ops)


def _graph() -> list[Operation]:
    """A diamond per chain plus independent leaves: a1 -> (b1, c1) -> d1, and so on."""
    ops: list[Operation] = []
    for i in range(4):
        ops += [
            _op(f"a{i}"),
            _op(f"b{i}", f"a{i}"),
            _op(f"c{i}", f"a{i}"),
            _op(f"d{i}", f"b{i}", f"c{i}"),
        ]
    ops += [_op(f"leaf{i}") for i in range(6)]
    return ops


def _run(ops: list[Operation], parallelism: int, client: GraphClient) -> tuple[State, list[str]]:
    state = State("s", "e", salt="salt", digest_key="k" * 64)
    done = Executor({"p": client}, state, {}, save=lambda s: None, parallelism=parallelism).run(_plan(*ops))
    return state, done


def test_executor__parallel__every_operation_starts_after_its_dependencies_end() -> None:
    ops = _graph()
    client = GraphClient(random.Random(7))
    _run(ops, 10, client)
    position = {event: i for i, event in enumerate(client.events)}
    for op in ops:
        for dep in op.depends_on:
            assert position[("end", dep)] < position[("start", op.id)], (dep, op.id)
    assert client.peak > 1, "independent operations did not overlap"
    assert client.peak <= 10


def test_executor__parallelism_bounds_operations_in_flight() -> None:
    client = GraphClient(random.Random(3))
    _run([_op(f"x{i}") for i in range(12)], 3, client)
    assert client.peak <= 3


def test_executor__waiting_operation_does_not_hold_up_independent_ones() -> None:
    """While ``slow`` waits, everything not depending on it runs and finishes."""
    client = GraphClient()
    gate = client.gates["slow"] = threading.Event()
    ops = [_op("slow"), _op("after-slow", "slow"), *(_op(f"free{i}") for i in range(5))]
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(done=_run(ops, 4, client)[1]))
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with client.lock:
            if sum(1 for kind, name in client.events if kind == "end" and name.startswith("free")) == 5:
                break
        time.sleep(0.01)
    with client.lock:
        ended = {name for kind, name in client.events if kind == "end"}
    assert {f"free{i}" for i in range(5)} <= ended and "after-slow" not in ended
    gate.set()
    thread.join(10)
    assert result["done"] == [f"Do {op.id}" for op in ops]  # reported in plan order


class WaitingClient(GraphClient):
    """``wait_outside`` waits in ``progress.waiting`` (as a build or IAM propagation would) until released."""

    OPERATIONS: ClassVar[frozenset[str]] = frozenset({"step", "wait_outside"})

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.in_flight_after_wait = -1

    def wait_outside(self, name: str) -> dict[str, Any]:
        self._enter(name)
        with progress.waiting(f"waiting for {name}"):
            with self.lock:
                self.running -= 1  # waiting is not work: the place is given up
            assert self.release.wait(10), f"{name} was never released"
            with self.lock:
                self.running += 1
        with self.lock:
            self.in_flight_after_wait = self.running
        self._leave(name)
        return {"id": f"id-{name}"}


def test_executor__an_operation_that_waits_gives_its_place_to_the_next() -> None:
    """At --parallelism 1, five operations run and finish while the first one waits."""
    client = WaitingClient()
    ops = [
        Operation("slow", "p", "wait_outside", {"name": "slow"}, "Do slow", "p.slow"),
        *(_op(f"free{i}") for i in range(5)),
    ]
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(done=_run(ops, 1, client)[1]))
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with client.lock:
            if sum(1 for kind, name in client.events if kind == "end" and name.startswith("free")) == 5:
                break
        time.sleep(0.01)
    with client.lock:
        ended = {name for kind, name in client.events if kind == "end"}
    client.release.set()
    thread.join(10)
    assert {f"free{i}" for i in range(5)} <= ended and "slow" not in ended
    assert client.peak == 1  # never more than one operation at work
    assert client.in_flight_after_wait == 1  # it took a place back before going on
    assert result["done"] == [f"Do {op.id}" for op in ops]


def test_gate__a_waiting_operation_resuming_goes_before_new_starts() -> None:
    gate = Gate(1)
    assert gate.enter()  # A starts
    assert not gate.enter()  # full
    gate.leave()  # A waits, giving its place up
    assert gate.enter()  # B starts meanwhile
    resumed = threading.Event()
    thread = threading.Thread(target=lambda: (gate.resume(), resumed.set()))
    thread.start()  # A's wait is over: it wants its place back
    deadline = time.monotonic() + 10
    while not gate.resuming and time.monotonic() < deadline:
        time.sleep(0.001)
    gate.leave()  # B ends
    assert resumed.wait(10)
    assert not gate.enter()  # A has the place: nothing new starts before it ends
    gate.leave()
    assert gate.enter()
    thread.join(10)


def test_executor__parallelism_1_and_10__identical_state_and_report() -> None:
    ops = _graph()
    runs = [_run(ops, n, GraphClient(random.Random(seed))) for n, seed in ((1, 1), (10, 2), (10, 3))]
    first_state, first_done = runs[0]
    for state, done in runs[1:]:
        assert state.to_json() == first_state.to_json()
        assert done == first_done == [f"Do {op.id}" for op in ops]


def test_executor__ref_without_declared_dependency__still_waits_for_its_producer() -> None:
    client = GraphClient(random.Random(5))
    ops = [_op("maker"), _op("user", params={"name": "user", "needs": [Ref("maker", ("id",))]})]
    state, _ = _run(ops, 10, client)
    assert client.events.index(("end", "maker")) < client.events.index(("start", "user"))
    assert state.resources["p.user"] == {"id": "id-user"}


def test_executor__failure__no_new_operation_starts_running_ones_finish_and_are_recorded() -> None:
    client = GraphClient()
    gate = client.gates["long"] = threading.Event()
    ops = [
        _op("long"),
        _op("broken", method="fail", params={"name": "broken"}),
        _op("later", "broken"),
        _op("blocked", "long"),
    ]
    saves: list[dict[str, Any]] = []
    state = State("s", "e", salt="salt", digest_key="k" * 64)
    executor = Executor({"p": client}, state, {}, save=lambda s: saves.append(dict(s.resources)), parallelism=4)
    timer = threading.Timer(0.2, gate.set)
    timer.start()
    with pytest.raises(ApplyError) as caught:
        executor.run(_plan(*ops))
    timer.join()
    started = [name for kind, name in client.events if kind == "start"]
    assert sorted(started) == ["broken", "long"]  # neither dependant started after the failure
    assert state.resources == {"p.long": {"id": "id-long"}}  # the running one finished and was recorded
    assert str(caught.value).startswith("Do broken: broken refused\nAlready done: Do long.")


def test_executor__two_failures__both_reported_in_plan_order() -> None:
    client = GraphClient()
    ops = [
        _op("one", method="fail", params={"name": "one"}),
        _op("two", method="fail", params={"name": "two"}),
        _op("ok"),
    ]
    gate = client.gates["ok"] = threading.Event()
    timer = threading.Timer(0.2, gate.set)
    timer.start()
    with pytest.raises(ApplyError) as caught:
        _run(ops, 3, client)
    timer.join()
    assert str(caught.value) == "Do one: one refused\nAlso failed: Do two: two refused\nAlready done: Do ok."


# -- progress ------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_line_reporter__start_done_and_a_heartbeat_every_10_s_saying_what_is_awaited() -> None:
    clock, lines = FakeClock(), []
    reporter = progress.LineReporter(lines.append, clock=clock)
    slot = reporter.start(3, 13, "Deploy action slack-new-user")
    progress.bind(slot)
    with progress.waiting("building slack-new-user"):
        for now in (105.0, 110.5, 115.0, 120.2):
            clock.now = now
            reporter.tick()
    progress.bind(None)
    reporter.finish(slot)
    assert lines == [
        "[3/13] Deploy action slack-new-user …",
        "[3/13] Deploy action slack-new-user: building slack-new-user … 10 s",
        "[3/13] Deploy action slack-new-user: building slack-new-user … 20 s",
        "[3/13] Deploy action slack-new-user: done (20.2s)",
    ]


def test_waiting__outside_an_operation__does_nothing() -> None:
    with progress.waiting("building nothing"):  # no slot bound: no error, nothing to show
        pass


def test_live_reporter__one_live_line_per_running_operation_with_elapsed_time() -> None:
    clock, out = FakeClock(), io.StringIO()
    reporter = progress.LiveReporter(out, clock=clock)
    build = reporter.start(1, 2, "Deploy action a")
    reporter.start(2, 2, "Deploy action b")
    build.activity = "building a"
    clock.now = 120.0
    out.truncate(0)
    out.seek(0)
    reporter.tick()
    assert out.getvalue() == (
        "\x1b[2F\x1b[J  [1/2] Deploy action a — building a … 20 s\n  [2/2] Deploy action b … 20 s\n"
    )
    out.truncate(0)
    out.seek(0)
    reporter.finish(build)
    assert out.getvalue() == "\x1b[2F\x1b[J[1/2] Deploy action a: done (20.0s)\n  [2/2] Deploy action b … 20 s\n"
