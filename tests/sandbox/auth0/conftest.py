"""Fixtures for the Auth0 emulator tests: emulators on loopback and real SDK clients.

Every client here is the unmodified ``auth0.management.ManagementClient`` talking
HTTPS to the emulator; trust in the throwaway CA comes from ``SSL_CERT_FILE``
(set per test with ``monkeypatch``), which httpx 0.28 reads when a client is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from auth0.management import ManagementClient

from provisioner.sandbox.auth0.config import EmulatorConfig
from provisioner.sandbox.auth0.server import Auth0Emulator

MakeEmulator = Callable[..., Auth0Emulator]


@pytest.fixture
def make_emulator() -> Iterator[MakeEmulator]:
    """Start emulators with ``EmulatorConfig(**overrides)``; all are stopped afterwards."""
    started: list[Auth0Emulator] = []

    def _make(state_dir: Any = None, **overrides: Any) -> Auth0Emulator:
        emulator = Auth0Emulator(EmulatorConfig(**overrides), state_dir=state_dir).start()
        started.append(emulator)
        return emulator

    yield _make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator: MakeEmulator) -> Auth0Emulator:
    return make_emulator()


@pytest.fixture
def client_for(monkeypatch: pytest.MonkeyPatch) -> Callable[[Auth0Emulator], ManagementClient]:
    """A client-credentials ManagementClient for an emulator, trusting its CA."""

    def _client(emulator: Auth0Emulator) -> ManagementClient:
        monkeypatch.setenv("SSL_CERT_FILE", str(emulator.ca_file))
        return ManagementClient(
            domain=emulator.domain,
            client_id=emulator.client_id,
            client_secret=emulator.client_secret,
        )

    return _client


@pytest.fixture
def mgmt(emulator: Auth0Emulator, client_for: Callable[[Auth0Emulator], ManagementClient]) -> ManagementClient:
    return client_for(emulator)
