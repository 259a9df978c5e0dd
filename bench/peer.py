"""The peer: auth0-deploy-cli's ``a0deploy import`` against the same emulator, for a side-by-side.

Install it once, into this directory (``node_modules`` is not committed)::

    cd bench && npm install --no-save --prefix peer auth0-deploy-cli@8.44.0

``run_peer`` writes the same actions hookctl's bench deploys (same names, triggers and code) as a
deploy-cli YAML tenant (``actions`` with ``deployed: true``, ``triggers`` bindings by action name),
runs ``a0deploy import`` limited to actions and triggers, and returns its wall time. The emulator
counts its calls like hookctl's. The CLI trusts the emulator's CA through ``NODE_EXTRA_CA_CERTS``
and gets ``AUTH0_DOMAIN`` as host:port.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEER_VERSION = "8.44.0"
A0DEPLOY = HERE / "peer" / "node_modules" / ".bin" / "a0deploy"


def available() -> bool:
    return A0DEPLOY.exists() and shutil.which("node") is not None


def write_tenant(root: Path, actions: list[tuple[str, str, str]]) -> Path:
    """``actions``: (name, trigger id, code). Returns the tenant YAML path."""
    bindings: dict[str, list[dict[str, str]]] = {}
    entries = []
    for name, trigger, code in actions:
        folder = root / "actions" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "code.js").write_text(code)
        entries.append(
            {
                "name": name,
                "code": f"./actions/{name}/code.js",
                "runtime": "node22",
                "dependencies": [],
                "secrets": [],
                "deployed": True,
                "supported_triggers": [{"id": trigger, "version": "v3" if trigger == "post-login" else "v2"}],
            }
        )
        bindings.setdefault(trigger, []).append({"action_name": name, "display_name": name})
    tenant = root / "tenant.yaml"
    # YAML is a superset of JSON: no YAML writer needed.
    tenant.write_text(json.dumps({"actions": entries, "triggers": bindings}, indent=2))
    return tenant


def run_peer(emu: Any, root: Path, actions: list[tuple[str, str, str]]) -> dict[str, Any]:
    tenant = write_tenant(root, actions)
    config = root / "config.json"
    config.write_text(
        json.dumps(
            {
                "AUTH0_DOMAIN": emu.domain,
                "AUTH0_CLIENT_ID": emu.client_id,
                "AUTH0_CLIENT_SECRET": emu.client_secret,
                "AUTH0_ALLOW_DELETE": False,
                "AUTH0_INCLUDED_ONLY": ["actions", "triggers"],
            }
        )
    )
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(emu.ca_file), "AUTH0_DEBUG": "false"}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(A0DEPLOY), "import", "--config_file", str(config), "--input_file", str(tenant)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-2000:]
        raise RuntimeError(f"a0deploy import failed ({proc.returncode}):\n{tail}")
    if os.environ.get("PEER_LOG"):
        print(proc.stdout[-3000:], proc.stderr[-3000:])
    return {"seconds": seconds}
