"""Many actions at once: shared build waits, one pacer for every thread, and a budget shared with others.

Against the emulator through the real auth0-python client. Builds take real (short) time here so
that waits overlap; nothing asserts wall time, only calls, answers and outcomes.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provisioner.engine import progress
from provisioner.engine.errors import ApplyError
from provisioner.engine.pipeline import apply_plan, compute_plan
from provisioner.providers.auth0.client import Pacer

from .conftest import Harness

TRIGGERS = {
    "post-login": "onExecutePostLogin",
    "post-user-registration": "onExecutePostUserRegistration",
}


def write_stack(root: Path, count: int, *, prune: bool = False, indices: list[int] | None = None) -> str:
    templates = root / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    for trigger, handler in TRIGGERS.items():
        (templates / f"{trigger}.js.j2").write_text(
            f"exports.{handler} = async (event, api) => {{\n  console.log({{{{ label | js }}}});\n}};\n"
        )
    lines = ["stack: many", "environments:", "  sandbox:", "    auth0: {}"]
    if prune:
        lines.append("prune: true")
    lines += ["auth0:", "  actions:"]
    names = list(TRIGGERS)
    for i in indices if indices is not None else range(count):
        trigger = names[i % len(names)]
        lines += [
            f"    act-{i:03d}:",
            f"      trigger: {trigger}",
            f"      template: {trigger}.js.j2",
            f"      vars: {{label: act-{i}}}",
        ]
    path = root / "many.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _statuses(h: Harness, code: int) -> int:
    return sum(n for (_m, path, status), n in h.emu.status_counts.items() if status == code and path != "/oauth/token")


def _connect_env(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH0_DOMAIN", h.emu.domain)


def test_many_builds__one_list_page_per_round_not_one_get_per_action(
    make_harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    h = make_harness(build_seconds=1.0, syntax_check="off")
    stack = write_stack(h.root, 12)
    activities: list[str] = []
    real_waiting = progress.waiting
    lock = threading.Lock()

    def record(activity: str) -> Any:
        with lock:
            activities.append(activity)
        return real_waiting(activity)

    monkeypatch.setattr(progress, "waiting", record)
    planned = compute_plan(stack, "sandbox", h.factory, h.options())
    h.emu.reset_counts()
    apply_plan(planned, None, h.options(parallelism=10))
    client = planned.providers[0].client()
    watch = client.watch
    assert h.emu.counts[("GET", "/api/v2/actions/actions/{id}")] == 0  # no per-action status read
    assert watch.rounds >= 1
    assert h.emu.counts[("GET", "/api/v2/actions/actions")] == watch.reads == watch.rounds * math.ceil(12 / 100)
    assert "building act-000" in activities  # the deploy said what it waited for
    again = compute_plan(stack, "sandbox", h.factory, h.options())
    assert again.plan.empty
    assert sorted(a.name for a in h.emu.tenant.actions.values()) == [f"act-{i:03d}" for i in range(12)]


def test_parallelism_1_and_10__same_tenant_and_state(make_harness: Callable[..., Harness]) -> None:
    results = []
    for parallelism in (1, 10):
        h = make_harness(build_seconds=0.3, syntax_check="off")
        stack = write_stack(h.root, 8)
        planned = compute_plan(stack, "sandbox", h.factory, h.options())
        apply_plan(planned, None, h.options(parallelism=parallelism))
        tenant = h.emu.tenant
        ids = {a.id: a.name for a in tenant.actions.values()}
        bound = {t: [ids[b.action_id] for b in tenant.list_bindings(t)] for t in TRIGGERS}
        versions = {a.name: (a.code, len(a.versions), bool(a.deployed_version_id)) for a in tenant.actions.values()}
        state = planned.backend.read().resources
        shape = {address: sorted(entry) for address, entry in state.items()}  # ids differ between tenants
        results.append((bound, versions, shape))
        assert compute_plan(stack, "sandbox", h.factory, h.options()).plan.empty
    assert results[0] == results[1]


def test_rate_limited_tenant__plan_draws_no_429(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(rate_limit_per_second=2, rate_limit_burst=2, syntax_check="off")
    stack = write_stack(h.root, 10)
    h.emu.reset_counts()
    compute_plan(stack, "sandbox", h.factory, h.options())
    assert _statuses(h, 429) == 0, h.emu.status_counts


def test_rate_limited_tenant__parallel_apply_draws_no_429_storm(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(rate_limit_per_second=4, rate_limit_burst=4, syntax_check="off", build_seconds=0.3)
    stack = write_stack(h.root, 6)
    h.emu.reset_counts()
    planned = compute_plan(stack, "sandbox", h.factory, h.options())
    apply_plan(planned, None, h.options(parallelism=10))
    assert _statuses(h, 429) == 0, h.emu.status_counts
    assert compute_plan(stack, "sandbox", h.factory, h.options()).plan.empty


def test_budget_shared_with_another_client__hookctl_retries_429s_and_converges(
    make_harness: Callable[..., Harness],
) -> None:
    """Another client spends 1.5 of the tenant's 2 requests a second: many of hookctl's calls get 429,
    POSTs included; each is sent again when the headers allow, and the apply completes."""
    h = make_harness(rate_limit_per_second=2, rate_limit_burst=2, competing_requests_per_second=1.5, syntax_check="off")
    stack = write_stack(h.root, 3)
    planned = compute_plan(stack, "sandbox", h.factory, h.options())
    apply_plan(planned, None, h.options())
    assert _statuses(h, 429) > 0, "the other client never crowded hookctl out"
    assert h.emu.competing_counts[200] > 0
    assert compute_plan(stack, "sandbox", h.factory, h.options()).plan.empty
    assert sorted(a.name for a in h.emu.tenant.actions.values()) == ["act-000", "act-001", "act-002"]


def test_budget_exhausted_by_others__gives_up_at_the_deadline_and_says_why(
    make_harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    h = make_harness(rate_limit_per_second=2, rate_limit_burst=2, syntax_check="off")
    stack = write_stack(h.root, 1)
    planned = compute_plan(stack, "sandbox", h.factory, h.options())
    monkeypatch.setenv("HOOKCTL_RATE_LIMIT_WAIT", "2")
    h.emu.compete(40.0)  # someone takes the whole budget
    # The plan's client was connected before the deadline was lowered: apply with a fresh one.
    planned.providers[0]._client = None  # type: ignore[attr-defined]
    with pytest.raises(ApplyError) as caught:
        apply_plan(planned, None, h.options())
    message = str(caught.value)
    assert "Create action act-000" in message
    assert "rate limit stayed exhausted" in message and "other clients of this tenant" in message
    assert caught.value.cause.hint and "HOOKCTL_RATE_LIMIT_WAIT" in caught.value.cause.hint  # type: ignore[attr-defined]


def test_prune__one_bindings_patch_per_trigger(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(syntax_check="off")
    stack = write_stack(h.root, 4, prune=True)
    h.apply(stack)
    write_stack(h.root, 2, prune=True)  # act-002 and act-003 go; act-000 and act-001 stay bound
    h.emu.reset_counts()
    h.apply(stack)
    patches = h.emu.counts[("PATCH", "/api/v2/actions/triggers/{trigger_id}/bindings")]
    assert patches == 2, h.emu.counts  # one per trigger, not unbind + rebind
    assert sorted(a.name for a in h.emu.tenant.actions.values()) == ["act-000", "act-001"]
    assert compute_plan(stack, "sandbox", h.factory, h.options()).plan.empty


def test_prune_and_add_on_the_same_trigger__still_one_bindings_patch_per_trigger(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(syntax_check="off")
    stack = write_stack(h.root, 4, prune=True)
    h.apply(stack)
    write_stack(h.root, 0, prune=True, indices=[0, 1, 4, 5])  # act-002/003 go, act-004/005 come
    h.emu.reset_counts()
    h.apply(stack)
    assert h.emu.counts[("PATCH", "/api/v2/actions/triggers/{trigger_id}/bindings")] == 2, h.emu.counts
    tenant = h.emu.tenant
    names = {a.id: a.name for a in tenant.actions.values()}
    assert sorted(names.values()) == ["act-000", "act-001", "act-004", "act-005"]
    assert [names[b.action_id] for b in tenant.list_bindings("post-login")] == ["act-000", "act-004"]
    assert [names[b.action_id] for b in tenant.list_bindings("post-user-registration")] == ["act-001", "act-005"]
    assert compute_plan(stack, "sandbox", h.factory, h.options()).plan.empty


# -- the pacer, on a fake clock --------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)  # concurrent requests: each sleeps its own wait from the same moment


def _headers(limit: int, remaining: int, **extra: Any) -> dict[str, str]:
    return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(remaining), **extra}


def test_pacer__waiting_requests_leave_evenly_spaced_not_in_pairs() -> None:
    t = FakeTime()
    pacer = Pacer(sleep=t.sleep, clock=t.clock, wall=t.clock)
    pacer.acquire()
    pacer.settle(200, _headers(2, 1))
    for _ in range(6):
        pacer.acquire()
    assert len(t.sleeps) == 5  # the first of the six had its token; each other waits its own slot
    gaps = [round(b - a, 6) for a, b in itertools.pairwise([0.0, *t.sleeps])]
    assert len(set(gaps)) == 1 and gaps[0] > 0, t.sleeps  # one request per slot, every slot the same length
    assert gaps[0] == pytest.approx(1 / pacer.rate)


def test_pacer__nothing_remaining__concurrent_reads_are_not_let_through() -> None:
    t = FakeTime()
    pacer = Pacer(sleep=t.sleep, clock=t.clock, wall=t.clock)
    pacer.acquire()
    pacer.settle(200, _headers(2, 0))
    pacer.acquire()
    pacer.acquire()
    assert len(t.sleeps) == 2 and 0 < t.sleeps[0] < t.sleeps[1]


def test_pacer__an_answer_never_clears_the_budget_already_spent() -> None:
    t = FakeTime()
    pacer = Pacer(sleep=t.sleep, clock=t.clock, wall=t.clock)
    pacer.acquire()
    pacer.settle(200, _headers(2, 0))
    pacer.acquire()  # reserves the next slot
    pacer.settle(200, _headers(2, 2))  # a late answer, counted before others were sent
    pacer.acquire()
    assert t.sleeps and t.sleeps[-1] > 0


def test_pacer__429_waits_as_retry_after_says_then_asks_for_less() -> None:
    t = FakeTime()
    pacer = Pacer(sleep=t.sleep, clock=t.clock, wall=t.clock)
    pacer.acquire()
    pacer.settle(200, _headers(10, 9))
    rate = pacer.rate
    pacer.acquire()
    wait = pacer.settle(429, _headers(10, 0, **{"retry-after": "3"}))
    assert wait == 3.0
    pacer.acquire()
    assert t.sleeps[-1] >= 3.0
    assert pacer.rate < rate and pacer.throttled == 1


def test_pacer__reset_header_when_no_retry_after() -> None:
    t = FakeTime()
    pacer = Pacer(sleep=t.sleep, clock=t.clock, wall=t.clock)
    pacer.acquire()
    wait = pacer.settle(429, _headers(2, 0, **{"x-ratelimit-reset": str(int(t.now) + 2)}))
    assert wait == pytest.approx(2.0)


def test_cli_apply_without_plan_file__reads_the_tenant_once(
    make_harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from provisioner.cli import main as cli

    h = make_harness(syntax_check="off")
    stack = write_stack(h.root, 6)
    for name, value in {
        "AUTH0_DOMAIN": h.emu.domain,
        "AUTH0_CLIENT_ID": h.emu.client_id,
        "AUTH0_CLIENT_SECRET": h.emu.client_secret,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(h.root)
    h.emu.reset_counts()
    with pytest.raises(SystemExit) as done:
        cli.main(["--state-dir", str(h.root / "state"), "apply", "-s", stack, "-e", "sandbox", "--auto-approve"])
    assert done.value.code in (0, None), capsys.readouterr().err
    assert h.emu.counts[("GET", "/api/v2/actions/triggers")] == 1
    assert h.emu.counts[("GET", "/api/v2/actions/triggers/{trigger_id}/bindings")] == len(TRIGGERS)
    assert h.emu.counts[("PATCH", "/api/v2/actions/triggers/{trigger_id}/bindings")] == len(TRIGGERS)


def test_build_longer_than_the_wait__deploy_gives_up_naming_what_it_waited_for(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(build_seconds=600, syntax_check="off")
    stack = write_stack(h.root, 1)
    planned = compute_plan(stack, "sandbox", h.factory, h.options())
    client = planned.providers[0].client()
    assert client.build_timeout == 360  # Auth0's builder limit (5 min) plus a minute, as terraform waits
    client.build_timeout = 1.0
    with pytest.raises(ApplyError) as caught:
        apply_plan(planned, None, h.options())
    message = str(caught.value)
    assert "Deploy action act-000: auth0 build for action act-000 failed: gave up after" in message
    assert "status 'pending'" in message
