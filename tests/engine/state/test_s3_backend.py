"""The S3 state backend through real boto3 against moto's server on loopback.

What moto 5.2 enforces (moto/s3/responses.py): ``If-None-Match: *`` and
``If-Match`` on PutObject and ``If-Match`` on DeleteObject, answering 412
PreconditionFailed like S3 (the first test proves it, so a moto that stopped
enforcing them fails there, not silently here). moto checks the condition and
then writes without a lock, so two requests switching threads exactly in
between could both pass — real S3 makes the check and the write atomic. At
Python's default thread switch interval that window did not open in 500
contested rounds; the concurrency test below can only fail, never pass
wrongly, because of it.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from provisioner.engine.errors import HookctlError, LockError, ProviderError
from provisioner.engine.model import Stack
from provisioner.engine.pipeline import Options, apply_plan, compute_plan
from provisioner.engine.secrets import SecretResolver
from provisioner.engine.state import LocalBackend, LockInfo, State
from provisioner.engine.state_s3 import S3Backend, StateConflictError, backend_from_url, list_states
from provisioner.providers.auth0.client import Auth0Client
from provisioner.providers.auth0.provider import Auth0Provider
from provisioner.providers.base import Provider
from provisioner.sandbox.auth0.config import EmulatorConfig
from provisioner.sandbox.auth0.server import Auth0Emulator
from tests.conftest import REPO

from .conftest import REGION

CRASHED_AT = 1_790_000_000.0  # the "crashed" run's clock
Make = Callable[..., S3Backend]


@pytest.fixture
def backend(session: boto3.session.Session, bucket: str) -> Make:
    """Backends as separate runs would have them: each with its own client (and connections)."""

    def make(stack: str = "crm", environment: str = "dev", prefix: str = "teams/a", **kw: Any) -> S3Backend:
        return S3Backend(kw.pop("bucket", bucket), prefix, stack, environment, client=session.client("s3"), **kw)

    return make


def raw(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def exists(s3: Any, bucket: str, key: str) -> bool:
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"))


def code_of(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


# -- the double ------------------------------------------------------------------------------------


def test_moto_server__conditional_put_and_delete__refused_with_412(s3: Any, bucket: str) -> None:
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"one", IfNoneMatch="*")
    with pytest.raises(ClientError) as again:
        s3.put_object(Bucket=bucket, Key="k", Body=b"two", IfNoneMatch="*")
    assert code_of(again.value) == "PreconditionFailed"

    second = s3.put_object(Bucket=bucket, Key="k", Body=b"three", IfMatch=first["ETag"])
    with pytest.raises(ClientError) as stale_put:
        s3.put_object(Bucket=bucket, Key="k", Body=b"four", IfMatch=first["ETag"])
    assert code_of(stale_put.value) == "PreconditionFailed"
    with pytest.raises(ClientError) as stale_delete:
        s3.delete_object(Bucket=bucket, Key="k", IfMatch=first["ETag"])
    assert code_of(stale_delete.value) == "PreconditionFailed"
    assert raw(s3, bucket, "k") == b"three"

    s3.delete_object(Bucket=bucket, Key="k", IfMatch=second["ETag"])
    assert not exists(s3, bucket, "k")


# -- state -----------------------------------------------------------------------------------------


def test_read__no_state_yet__fresh_state(backend: Make) -> None:
    state = backend().read()
    assert (state.stack, state.environment, state.serial, state.resources) == ("crm", "dev", 0, {})
    assert len(state.salt) == 32


def test_write_then_read__round_trip_encrypted_at_the_documented_key(backend: Make, s3: Any, bucket: str) -> None:
    first = backend()
    state = first.read()
    state.patch("cognito.function.sign-in", {"arn": "arn:aws:lambda:eu-west-1:1:function:x", "version": "3"})
    first.write(state)
    state.patch("auth0.action.notify", {"id": "act_1"})
    first.write(state)
    assert state.serial == 2

    again = backend().read()
    assert again.to_json() == state.to_json()
    head = s3.head_object(Bucket=bucket, Key="teams/a/crm/dev.json")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "application/json"
    assert json.loads(raw(s3, bucket, "teams/a/crm/dev.json"))["format"] == "hookctl-state"


def test_write__racing_writer_with_stale_etag__refused_and_nothing_overwritten(
    backend: Make, s3: Any, bucket: str
) -> None:
    ours, theirs = backend(), backend()
    mine, other = ours.read(), theirs.read()
    mine.patch("auth0.action.a", {"id": "act_a"})
    ours.write(mine)
    other.patch("auth0.action.b", {"id": "act_b"})
    with pytest.raises(StateConflictError, match="was created by another run after this run read it"):
        theirs.write(other)  # both found no state; only the first creation wins

    mine, other = ours.read(), theirs.read()  # both now at serial 1, same ETag
    mine.patch("auth0.action.c", {"id": "act_c"})
    ours.write(mine)
    other.patch("auth0.action.d", {"id": "act_d"})
    with pytest.raises(StateConflictError, match="was written by another run after this run read it") as refused:
        theirs.write(other)
    assert "nothing was overwritten" in str(refused.value)
    assert other.serial == 1  # the failed write did not count

    stored = json.loads(raw(s3, bucket, "teams/a/crm/dev.json"))
    assert sorted(stored["resources"]) == ["auth0.action.a", "auth0.action.c"]
    assert stored["serial"] == 2


# -- the lock --------------------------------------------------------------------------------------


def race(runs: list[S3Backend]) -> tuple[list[LockInfo], list[LockError]]:
    """Start ``apply`` on every run at once; the winner holds the lock until every run has tried."""
    start, attempted = threading.Barrier(len(runs), timeout=10), threading.Barrier(len(runs), timeout=10)
    won: list[LockInfo] = []
    lost: list[LockError] = []

    def apply(run: S3Backend) -> None:
        start.wait()
        try:
            with run.locked("apply") as lock:
                won.append(lock)
                attempted.wait()
        except LockError as exc:
            lost.append(exc)
            attempted.wait()

    threads = [threading.Thread(target=apply, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    return won, lost


def test_two_applies_started_together__exactly_one_acquires(backend: Make, s3: Any, bucket: str) -> None:
    contenders = 3
    for round_ in range(4):
        won, lost = race([backend(who=lambda i=i: f"runner-{i}") for i in range(contenders)])

        assert len(won) == 1, f"round {round_}: {len(won)} runs acquired the lock"
        assert len(lost) == contenders - 1
        [winner] = won
        for exc in lost:
            assert f"state for crm/dev is locked: lock {winner.id} held by {winner.who} (apply)" in str(exc)
            assert exc.hint == f"If that run is gone, clear it with `hookctl state unlock {winner.id}`."
        assert not exists(s3, bucket, "teams/a/crm/dev.lock")  # released on the way out


def test_crashed_run__lock_reported_with_who_and_when__unlock_needs_its_id(backend: Make, s3: Any, bucket: str) -> None:
    crashed = backend(who=lambda: "ci@runner-7 pid 4242", clock=lambda: CRASHED_AT)
    lock = crashed.acquire("apply")  # …and the run dies without releasing
    assert s3.head_object(Bucket=bucket, Key="teams/a/crm/dev.lock")["ServerSideEncryption"] == "AES256"

    later = backend()
    with pytest.raises(LockError) as refused:
        later.acquire("apply")
    since = datetime.datetime.fromtimestamp(CRASHED_AT, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert str(refused.value) == (
        f"state for crm/dev is locked: lock {lock.id} held by ci@runner-7 pid 4242 (apply) since {since}"
    )
    assert refused.value.hint == f"If that run is gone, clear it with `hookctl state unlock {lock.id}`."
    assert later.held() == lock

    with pytest.raises(HookctlError, match=f"lock id 'not-the-id' does not match the current lock {lock.id}"):
        later.unlock("not-the-id")
    assert exists(s3, bucket, "teams/a/crm/dev.lock")

    later.unlock(lock.id)
    assert not exists(s3, bucket, "teams/a/crm/dev.lock")
    with pytest.raises(HookctlError, match="state for crm/dev is not locked"):
        later.unlock(lock.id)
    with later.locked("apply"):
        pass


def test_release__lock_cleared_and_taken_by_another_run__left_alone(backend: Make) -> None:
    slow, admin, next_run = backend(), backend(), backend()
    old = slow.acquire("apply")
    admin.unlock(old.id)
    new = next_run.acquire("apply")
    slow.release(old)  # the slow run finally finishes
    assert admin.held() == new


# -- listing, secrets, URLs --------------------------------------------------------------------------


def test_list__every_state_under_the_prefix_with_serial_time_and_lock(backend: Make, s3: Any, bucket: str) -> None:
    before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    for stack, environment, writes in [("crm", "dev", 2), ("crm", "prod", 1), ("billing", "dev", 1)]:
        b = backend(stack, environment)
        state = b.read()
        for _ in range(writes):
            b.write(state)
    other = backend("crm", "dev", prefix="teams/b")
    other.write(other.read())
    backend("crm", "prod").acquire("apply")
    s3.put_object(Bucket=bucket, Key="teams/a/README.txt", Body=b"not a state")

    entries = backend().list()
    assert [(e.stack, e.environment, e.serial, e.locked) for e in entries] == [
        ("billing", "dev", 1, False),
        ("crm", "dev", 2, False),
        ("crm", "prod", 1, True),
    ]
    assert all(e.last_modified.tzinfo is not None and e.last_modified > before for e in entries)
    assert entries[0].location == f"s3://{bucket}/teams/a/billing/dev.json"
    assert list_states(f"s3://{bucket}/teams/a") == entries
    assert [(e.stack, e.environment) for e in list_states(f"s3://{bucket}/teams/b/")] == [("crm", "dev")]


def test_list__local_directory(tmp_path: Path) -> None:
    local = LocalBackend(str(tmp_path / "state"), "crm", "dev")
    local.write(local.read())
    local.acquire("apply")
    [entry] = list_states(str(tmp_path / "state"))
    assert (entry.stack, entry.environment, entry.serial, entry.locked) == ("crm", "dev", 1, True)
    assert list_states(str(tmp_path / "nothing-here")) == []


SLACK_URL = "https://hooks.slack.test/services/T0/B0/never-in-state-93f1c7"


@pytest.fixture
def tenant(monkeypatch: pytest.MonkeyPatch) -> Iterator[Auth0Emulator]:
    """The Auth0 emulator over HTTPS on loopback (its state keeps secret hashes, unlike Cognito's)."""
    emu = Auth0Emulator(EmulatorConfig()).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(emu.ca_file))
    try:
        yield emu
    finally:
        emu.stop()


def test_apply_with_secret__state_object_holds_its_hash_never_the_value(
    s3: Any, bucket: str, tenant: Auth0Emulator, tmp_path: Path
) -> None:
    """The whole pipeline with its state on S3, through ``Options.backend`` and ``backend_from_url``."""
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    stack_path = tmp_path / "stack.yaml"
    stack_path.write_text(STACK)

    def providers(_stack: Stack) -> list[Provider]:
        def connect() -> Auth0Client:
            return Auth0Client.connect(
                tenant.domain, client_id=tenant.client_id, client_secret=tenant.client_secret, sleep=lambda _s: None
            )

        return [Auth0Provider(connect)]

    url = f"s3://{bucket}/teams/a"
    options = Options(
        build_dir=str(tmp_path / "build"),
        resolver=SecretResolver(environ={"SLACK_WEBHOOK_URL": SLACK_URL}, base_dir=str(tmp_path)),
        backend=lambda stack: backend_from_url(url, stack.name, stack.environment.name),
    )
    planned = compute_plan(str(stack_path), "sandbox", providers, options)
    apply_plan(planned, None, options)

    stored = raw(s3, bucket, "teams/a/signups/sandbox.json")
    document = json.loads(stored)
    recorded = document["resources"]["auth0.action.slack-new-user"]["secrets"]["SLACK_WEBHOOK_URL"]
    assert json.dumps(recorded).count("hmac-sha256$") == 1  # what it keeps instead: the keyed digest
    for item in s3.list_objects_v2(Bucket=bucket)["Contents"]:
        assert SLACK_URL.encode() not in raw(s3, bucket, item["Key"]), item["Key"]
    again = compute_plan(str(stack_path), "sandbox", providers, options)
    assert again.plan.changes == ()  # the state was read back from S3


STACK = """\
stack: signups
environments:
  sandbox:
    auth0: {}
    vars: {channel: "#signups"}
auth0:
  actions:
    slack-new-user:
      trigger: post-user-registration
      template: auth0/post-user-registration/slack-notify.js.j2
      dependencies: {"@slack/webhook": "8.0.2"}
      secrets:
        SLACK_WEBHOOK_URL: {env: SLACK_WEBHOOK_URL}
  triggers:
    post-user-registration:
      bindings: [slack-new-user]
"""


def test_backend_from_url__s3__standard_chain_and_region(
    backend: Make, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = backend_from_url(f"s3://{bucket}/teams/a/", "crm", "dev")
    assert isinstance(made, S3Backend)
    assert (made.bucket, made.key, made.lock_key) == (bucket, "teams/a/crm/dev.json", "teams/a/crm/dev.lock")
    assert made.client.meta.region_name == REGION
    made.write(made.read())
    assert backend().read().serial == 1

    monkeypatch.setenv("AWS_REGION", "eu-central-1")  # wins over AWS_DEFAULT_REGION, as in the AWS CLI
    at_root = backend_from_url(f"s3://{bucket}", "crm", "dev")
    assert isinstance(at_root, S3Backend)
    assert (at_root.key, at_root.client.meta.region_name) == ("crm/dev.json", "eu-central-1")


def test_backend_from_url__kms_key__objects_encrypted_with_it(
    session: boto3.session.Session, s3: Any, bucket: str
) -> None:
    key_id = session.client("kms").create_key()["KeyMetadata"]["KeyId"]
    made = backend_from_url(f"s3://{bucket}/p?kms_key_id={key_id}", "crm", "dev")
    made.write(made.read())
    made.acquire("apply")
    for key in ("p/crm/dev.json", "p/crm/dev.lock"):
        head = s3.head_object(Bucket=bucket, Key=key)
        assert (head["ServerSideEncryption"], key_id in head["SSEKMSKeyId"]) == ("aws:kms", True)


@pytest.mark.parametrize("given", ["state-dir", "file://{tmp}/state-dir"])
def test_backend_from_url__path__local_backend(given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = backend_from_url(given.format(tmp=tmp_path), "crm", "dev")
    assert isinstance(made, LocalBackend)
    made.write(made.read())
    assert (tmp_path / "state-dir" / "crm" / "dev.json").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "the state URL is empty"),
        ("s3://", "names no bucket"),
        ("s3:///prefix", "names no bucket"),
        ("s3://My_Bucket/x", "'My_Bucket' is not a valid S3 bucket name"),
        ("s3://user:pw@bucket/x", "is not a valid S3 bucket name"),
        ("s3://bucket/a//b", "the prefix has an empty path segment"),
        ("s3://bucket/x?region=eu-west-1", "unknown option region"),
        ("s3://bucket/x?kms_key_id=", "kms_key_id needs exactly one non-empty value"),
        ("s3://bucket/x#top", "a fragment"),
        ("gs://bucket/x", "unsupported scheme 'gs'"),
        ("s3:bucket/x", "expected SCHEME://"),
    ],
)
def test_backend_from_url__malformed__clear_error(url: str, message: str) -> None:
    with pytest.raises(HookctlError, match=message):
        backend_from_url(url, "crm", "dev", client=None)


def test_missing_bucket__error_names_call_and_object_never_the_body(backend: Make) -> None:
    missing = backend(bucket="no-such-hookctl-bucket")
    with pytest.raises(ProviderError) as on_read:
        missing.read()
    assert str(on_read.value).startswith("s3 GetObject for s3://no-such-hookctl-bucket/teams/a/crm/dev.json failed: ")
    assert "NoSuchBucket" in str(on_read.value) and on_read.value.hint and "Create the bucket" in on_read.value.hint

    state = State("crm", "dev")
    state.patch("auth0.action.notify", {"id": "body-marker-5521"})
    with pytest.raises(ProviderError, match=re.escape("s3 PutObject for s3://no-such-hookctl-bucket/")) as on_write:
        missing.write(state)
    assert "body-marker-5521" not in str(on_write.value) + str(on_write.value.hint)
    with pytest.raises(
        ProviderError, match=re.escape("s3 PutObject for s3://no-such-hookctl-bucket/teams/a/crm/dev.lock")
    ):
        missing.acquire("apply")


def test_unreadable_lock__reported_and_unlock_points_to_deleting_it(backend: Make, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="teams/a/crm/dev.lock", Body=b"{half a lock")
    run = backend()
    with pytest.raises(LockError, match=r"the lock object s3://\S+ is unreadable") as refused:
        run.acquire("apply")
    assert (
        refused.value.hint
        == f"If no run is using this state, delete it: `aws s3 rm s3://{bucket}/teams/a/crm/dev.lock`."
    )
    with pytest.raises(HookctlError, match="is unreadable"):
        run.unlock("anything")
    assert exists(s3, bucket, "teams/a/crm/dev.lock")
