"""The emulator held to real Auth0 answers.

tests/sandbox/contract/recordings/ holds excerpts of public recordings of the real Management API
(terraform-provider-auth0, go-auth0, auth0-deploy-cli; each file names its source repository, path
and commit; make_excerpts.py rebuilds them). Each excerpt is replayed, request by request, against a
fresh emulator over HTTPS; ids the recording holds are mapped to the ids the emulator answered with.
Every answer must have the recorded status code and the recorded shape: the same keys at every
level and the same JSON value types. Values themselves (ids, timestamps, build states that depend
on how long a build takes) are the emulator's own.

The second half checks coverage: every Management API call hookctl's Auth0 client makes (each
``self.sdk....`` in provisioner/providers/auth0/client.py) maps to an endpoint, and every such endpoint is
exercised by at least one replayed interaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from provisioner.sandbox.auth0.config import EmulatorConfig
from provisioner.sandbox.auth0.server import Auth0Emulator
from provisioner.sandbox.auth0.store import Tenant
from tests.conftest import REPO

RECORDINGS = Path(__file__).parent / "recordings"
EXCERPTS = sorted(p.stem for p in RECORDINGS.glob("*.json"))
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# auth0-python 6.x method -> the endpoint it calls (auth0/management/actions/raw_client.py and
# actions/{triggers,triggers/bindings,versions}/raw_client.py).
SDK_ENDPOINTS: dict[str, tuple[str, str]] = {
    "actions.triggers.list": ("GET", "/api/v2/actions/triggers"),
    "actions.triggers.bindings.list": ("GET", "/api/v2/actions/triggers/{trigger_id}/bindings"),
    "actions.triggers.bindings.update_many": ("PATCH", "/api/v2/actions/triggers/{trigger_id}/bindings"),
    "actions.list": ("GET", "/api/v2/actions/actions"),
    "actions.get": ("GET", "/api/v2/actions/actions/{id}"),
    "actions.create": ("POST", "/api/v2/actions/actions"),
    "actions.update": ("PATCH", "/api/v2/actions/actions/{id}"),
    "actions.delete": ("DELETE", "/api/v2/actions/actions/{id}"),
    "actions.deploy": ("POST", "/api/v2/actions/actions/{id}/deploy"),
    "actions.versions.list": ("GET", "/api/v2/actions/actions/{action_id}/versions"),
    "actions.versions.deploy": ("POST", "/api/v2/actions/actions/{action_id}/versions/{id}/deploy"),
}


def _foreign_post_login_binding(tenant: Tenant) -> None:
    # The recorded dev tenant already had one post-login binding of an action the test did not make.
    other = tenant.seed_action("someone-elses-login-action", "post-login")
    tenant.add_binding("post-login", other.id)


# State the recorded tenant had before the excerpt starts.
GIVEN: dict[str, Callable[[Tenant], None]] = {"tf-action-lifecycle": _foreign_post_login_binding}


def shape_problems(recorded: Any, answered: Any, where: str) -> list[str]:
    """Differences of keys and JSON types between two answers (lists: element by element)."""
    if type(recorded) is not type(answered) and not (
        isinstance(recorded, int | float) and isinstance(answered, int | float) and not isinstance(recorded, bool)
    ):
        return [f"{where}: recorded {type(recorded).__name__}, emulator {type(answered).__name__}"]
    if isinstance(recorded, dict):
        problems = []
        missing = sorted(set(recorded) - set(answered))
        extra = sorted(set(answered) - set(recorded))
        if missing:
            problems.append(f"{where}: emulator lacks {missing}")
        if extra:
            problems.append(f"{where}: emulator adds {extra}")
        for key in recorded.keys() & answered.keys():
            problems += shape_problems(recorded[key], answered[key], f"{where}.{key}")
        return problems
    if isinstance(recorded, list):
        if len(recorded) != len(answered):
            return [f"{where}: recorded {len(recorded)} items, emulator {len(answered)}"]
        return [
            p
            for i, (r, a) in enumerate(zip(recorded, answered, strict=True))
            for p in shape_problems(r, a, f"{where}[{i}]")
        ]
    return []


def learn_ids(recorded: Any, answered: Any, ids: dict[str, str]) -> None:
    """Map each id in the recorded answer to the id in the same place of the emulator's answer."""
    if isinstance(recorded, dict) and isinstance(answered, dict):
        for key in recorded.keys() & answered.keys():
            r, a = recorded[key], answered[key]
            if key in ("id", "action_id") and isinstance(r, str) and isinstance(a, str) and UUID_RE.fullmatch(r):
                ids.setdefault(r, a)
            else:
                learn_ids(r, a, ids)
    elif isinstance(recorded, list) and isinstance(answered, list):
        for r, a in zip(recorded, answered, strict=False):
            learn_ids(r, a, ids)


def substitute(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return UUID_RE.sub(lambda m: ids.get(m.group(0), m.group(0)), value)
    if isinstance(value, dict):
        return {k: substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, ids) for v in value]
    return value


def _building(recorded: Any) -> bool:
    """Whether the recorded answer shows a build still under way (then the emulator's must be too)."""
    if not isinstance(recorded, dict):
        return False
    items = [recorded, *(a for a in recorded.get("actions") or [] if isinstance(a, dict))]
    return any(item.get("status") in ("pending", "building") for item in items)


class _Clock:
    """The emulator's clock: builds finish when the replay says so, as they had in the recording."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def replay(name: str) -> tuple[list[str], set[tuple[str, str]]]:
    """Problems found, and the endpoints (method, template) the replay exercised."""
    document = json.loads((RECORDINGS / f"{name}.json").read_text())
    clock = _Clock()
    emulator = Auth0Emulator(EmulatorConfig(build_seconds=30.0, clock=clock)).start()
    try:
        GIVEN.get(name, lambda _t: None)(emulator.tenant)
        emulator.reset_counts()
        problems: list[str] = []
        ids: dict[str, str] = {}
        headers = {"authorization": f"Bearer {emulator.issue_token()}"}
        with httpx.Client(base_url=emulator.base_url, verify=emulator.client_ssl_context(), headers=headers) as http:
            for item in document["interactions"]:
                if not _building(item["response"]):
                    clock.now += 60.0  # the recording's builds were done by now
                body = substitute(item["body"], ids)
                answer = http.request(
                    item["method"], substitute(item["path"], ids), json=body if body is not None else None
                )
                where = f"{name} #{item['recorded']} {item['method']} {item['path'].split('?')[0]}"
                if answer.status_code != item["status"]:
                    problems.append(
                        f"{where}: recorded HTTP {item['status']}, emulator {answer.status_code}: {answer.text[:300]}"
                    )
                    continue
                got = answer.json() if answer.content else None
                learn_ids(item["response"], got, ids)
                problems += shape_problems(item["response"], got, where)
        exercised = {key for key, count in emulator.counts.items() if count}
    finally:
        emulator.stop()
    return problems, exercised


@pytest.fixture(scope="module")
def replays() -> Iterator[dict[str, tuple[list[str], set[tuple[str, str]]]]]:
    yield {name: replay(name) for name in EXCERPTS}


@pytest.mark.parametrize("name", EXCERPTS)
def test_emulator_answers_recorded_requests_with_recorded_status_keys_and_types(
    name: str, replays: dict[str, tuple[list[str], set[tuple[str, str]]]]
) -> None:
    problems, _ = replays[name]
    assert not problems, "\n".join(problems)


def test_excerpts__each_names_its_source_and_holds_no_secret() -> None:
    assert EXCERPTS, "no recordings"
    for name in EXCERPTS:
        text = (RECORDINGS / f"{name}.json").read_text()
        document = json.loads(text)
        assert set(document["source"]) == {"repo", "path", "commit"}, name
        assert re.fullmatch(r"[0-9a-f]{40}", document["source"]["commit"]), name
        for secret in re.findall(r'"secrets": (\[[^\]]*\])', text):
            for entry in json.loads(secret):
                assert entry.get("value", "<scrubbed>") == "<scrubbed>", name
        assert "Bearer" not in text and "access_token" not in text, name


def test_every_sdk_call_hookctl_makes__has_a_known_endpoint() -> None:
    source = (REPO / "provisioner" / "providers" / "auth0" / "client.py").read_text()
    calls = set(re.findall(r"self\.sdk\.([a-z_.]+[a-z_])", source))
    assert calls, "found no SDK calls: the pattern no longer matches the client"
    assert calls <= set(SDK_ENDPOINTS), f"SDK calls with no contract endpoint: {sorted(calls - set(SDK_ENDPOINTS))}"
    assert set(SDK_ENDPOINTS) <= calls, f"stale entries: {sorted(set(SDK_ENDPOINTS) - calls)}"


def test_every_endpoint_hookctl_calls__is_held_to_a_recording(
    replays: dict[str, tuple[list[str], set[tuple[str, str]]]],
) -> None:
    exercised = set().union(*(hit for _, hit in replays.values()))
    missing = sorted(set(SDK_ENDPOINTS.values()) - exercised)
    assert not missing, f"no recorded interaction exercises {missing}"
