"""Provider clients: thin, typed wrappers around the Auth0 and AWS SDKs, and the factory that picks them.
Providers: the registry that picks a stack environment's providers.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine.model import Stack
    from .base import Provider


def providers_for(stack: Stack) -> list[Provider]:
    """The providers an environment needs, or the file-backed fake when HOOKCTL_FAKE_STORE is set.

    SDKs are imported only here, when a command really talks to a provider, so
    ``--help`` and ``validate`` stay fast.
    """
    fake_store = os.environ.get("HOOKCTL_FAKE_STORE")
    if fake_store:
        from .fake import FakeProvider

        return [FakeProvider(fake_store)]
    providers: list[Provider] = []
    # A pruning stack (and destroy, which plans an empty pruning stack) still reads a target
    # it declares, so what it owns there can be removed.
    if stack.actions or (stack.prune and stack.environment.auth0 is not None):
        from .auth0.provider import Auth0Provider

        providers.append(Auth0Provider.from_environment(stack))
    if stack.functions or (stack.prune and stack.environment.cognito is not None):
        from .cognito.provider import CognitoProvider

        providers.append(CognitoProvider.from_environment(stack))
    return providers
