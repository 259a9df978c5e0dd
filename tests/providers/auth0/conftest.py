"""Fixtures: the Auth0 emulator over HTTPS on loopback and hookctl's pipeline pointed at it.

Nothing here is a test double: the provider talks to the emulator through the
real auth0-python client, trusting the emulator's CA through SSL_CERT_FILE as
any httpx program would.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from provisioner.engine.pipeline import Options, Planned, apply_plan, compute_plan
from provisioner.engine.secrets import SecretResolver
from provisioner.providers.auth0.client import Auth0Client
from provisioner.providers.auth0.provider import Auth0Provider
from provisioner.sandbox.auth0.config import EmulatorConfig
from provisioner.sandbox.auth0.server import Auth0Emulator
from tests.conftest import REPO

SLACK_URL = "https://hooks.slack.test/services/T0/B0/very-secret-3c1f"
WRITES = ("POST", "PATCH", "DELETE", "PUT")


@dataclass
class Harness:
    """One emulated tenant plus hookctl configured against it."""

    emu: Auth0Emulator
    root: Path
    environ: dict[str, str]
    sleeps: list[float] = field(default_factory=list)

    def stack(self, name: str = "auth0-registration.yaml") -> str:
        return str(self.root / "stacks" / name)

    def options(self, **extra: Any) -> Options:
        return Options(
            state_dir=str(self.root / "state"),
            build_dir=str(self.root / "build"),
            resolver=SecretResolver(environ=self.environ, base_dir=str(self.root)),
            **extra,
        )

    def factory(self, stack: Any) -> list[Any]:
        def connect() -> Auth0Client:
            client = Auth0Client.connect(
                self.emu.domain, client_id=self.emu.client_id, client_secret=self.emu.client_secret, sleep=self._sleep
            )
            return client

        return [Auth0Provider(connect)]

    def _sleep(self, seconds: float) -> None:
        # Builds settle on the emulator's clock; a short real pause keeps the loop honest.
        self.sleeps.append(seconds)
        import time

        time.sleep(min(seconds, 0.05))

    def plan(self, stack: str | None = None, **extra: Any) -> Planned:
        return compute_plan(stack or self.stack(), "sandbox", self.factory, self.options(**extra))

    def apply(self, stack: str | None = None) -> Planned:
        planned = self.plan(stack)
        apply_plan(planned, None, self.options())
        return planned

    def writes(self) -> dict[tuple[str, str], int]:
        return {k: v for k, v in self.emu.counts.items() if k[0] in WRITES and k[1] != "/oauth/token"}

    def reads(self) -> dict[tuple[str, str], int]:
        return {k: v for k, v in self.emu.counts.items() if k[0] == "GET"}

    def action(self, name: str) -> Any:
        found = self.emu.tenant.find_action(name)
        assert found is not None, f"no action {name} in the tenant"
        return found


@pytest.fixture
def make_harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Harness]]:
    started: list[Auth0Emulator] = []

    def make(**config: Any) -> Harness:
        emu = Auth0Emulator(EmulatorConfig(**config)).start()
        started.append(emu)
        monkeypatch.setenv("SSL_CERT_FILE", str(emu.ca_file))
        root = tmp_path / f"h{len(started)}"
        shutil.copytree(REPO / "stacks", root / "stacks")
        environ = {"SLACK_WEBHOOK_URL": SLACK_URL}
        return Harness(emu, root, environ)

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def h(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()
