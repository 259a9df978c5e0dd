"""Process isolation: each handler in user, PID and mount namespaces of its own (``unshare``).
Local runs: keeping handlers away from the runner's credentials.

``isolation()`` probes once which ``unshare`` prefix this machine allows;
the runner puts it in front of every harness command. Where none works,
``credentials_in`` names (never shows) the credentials a handler could read,
for the runner's warning. I/O: one probe subprocess, cached.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Isolation:
    """How handlers are kept from the runner's credentials: ``prefix`` wraps each run."""

    available: bool
    prefix: tuple[str, ...] = ()
    why: str = ""


# Names under which CI runners and SDKs hand out credentials, plus anything named like one.
_CREDENTIAL_NAMES = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AUTH0_CLIENT_ID",
        "AUTH0_CLIENT_SECRET",
        "AUTH0_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "CI_JOB_TOKEN",
        "CI_JOB_JWT",
        "CI_JOB_JWT_V2",
    }
)
_CREDENTIAL_RE = re.compile(r"(?:SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL)", re.I)


def credentials_in(environ: Mapping[str, str]) -> list[str]:
    """Names in ``environ`` that hold, or look like they hold, credentials (never their values)."""
    return sorted(n for n, v in environ.items() if v and (n in _CREDENTIAL_NAMES or _CREDENTIAL_RE.search(n)))


@functools.lru_cache(maxsize=1)
def isolation() -> Isolation:
    """Run handlers in a user, PID and mount namespace of their own, with a fresh ``/proc``.

    Clearing the handler's environment is not enough: every ancestor (hookctl, the CI step's
    shell) holds the runner's credentials, and ``/proc/<pid>/environ`` shows the environment a
    process started with. In its own PID namespace a handler sees no other process. Tried in
    order: an unprivileged user namespace (``unshare --map-root-user``, works for any user where
    the kernel allows it), then, as root, PID + mount namespaces alone. ``HOOKCTL_ISOLATION=off``
    turns this off (for platforms where the probe itself misbehaves); hookctl then warns."""
    if os.environ.get("HOOKCTL_ISOLATION", "").lower() == "off":
        return Isolation(False, why="HOOKCTL_ISOLATION=off")
    unshare = shutil.which("unshare")
    if not sys.platform.startswith("linux") or unshare is None:
        return Isolation(False, why="no `unshare` on this platform")
    candidates: list[tuple[str, ...]] = [(unshare, "--map-root-user", "--pid", "--mount-proc", "--kill-child")]
    if os.geteuid() == 0:
        candidates.append((unshare, "--pid", "--mount-proc", "--kill-child"))
    why = "unshare failed"
    for prefix in candidates:
        try:
            probe = subprocess.run([*prefix, "--", "true"], capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            why = f"unshare failed: {type(exc).__name__}"
            continue
        if probe.returncode == 0:
            return Isolation(True, tuple(prefix))
        why = f"unshare failed: {(probe.stderr.strip().splitlines() or ['exit code ' + str(probe.returncode)])[-1]}"
    return Isolation(False, why=why)
