"""A pull request attacks the runner through hookctl; a canary must never come out.

The threat model (docs/SECURITY.md): the author of a pull request writes the stack files,
templates, test cases and dependency lists; the runner that plans the pull request holds the
Auth0 client secret, AWS credentials and the stacks' secrets. Each test here writes the attack
the way a pull request would (into a checkout under ``PullRequest.root``), runs the hookctl
command CI runs on it as a subprocess, and then ``assert_clean`` looks for the canary in every
byte hookctl printed (stdout, stderr) or wrote (plan files, state, rendered output, build
directories, anything under the checkout, inside zip files too), as is and in the encodings a
value takes on its way out (URL, JSON, base64), and in every byte any process sent to the
loopback listener that stands in for the attacker's server.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import socket
import subprocess
import textwrap
import threading
import urllib.parse
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.cli.helpers import hookctl_path

# The runner's secrets: distinctive, so a hit can only be a leak.
CANARY = "canary-7fQ2-RunnerSecret-9xZk"
AUTH0_SECRET = f"{CANARY}-auth0-client-secret"
AWS_SECRET = f"{CANARY}-aws-secret-access-key"
STACK_SECRET = f"{CANARY}-slack-webhook"
FILE_SECRET = f"{CANARY}-runner-file"


class Listener:
    """A TCP server on 127.0.0.1 that records every byte sent to it (the attacker's server).

    It answers anything with an empty HTTP 200."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.received: list[bytes] = []
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
                head, sep, body = data.partition(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head) if sep else None
                if sep and len(body) >= (int(length.group(1)) if length else 0):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    break
        except OSError:
            pass
        finally:
            self.received.append(data)
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


@dataclass
class Run:
    args: list[str]
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


class PullRequest:
    """A checkout holding what a pull request wrote, and the runner environment CI gives hookctl."""

    def __init__(self, root: Path, listener: Listener) -> None:
        self.root = root
        self.listener = listener
        self.runs: list[Run] = []
        # The runner's files, outside the checkout: a credentials file and a secret file.
        self.runner = root.parent / f"{root.name}-runner"
        (self.runner / ".aws").mkdir(parents=True)
        (self.runner / ".aws" / "credentials").write_text(
            f"[default]\naws_access_key_id = AKIARUNNER\naws_secret_access_key = {AWS_SECRET}\n"
        )
        self.secret_file = self.runner / "secret.txt"
        self.secret_file.write_text(FILE_SECRET + "\n")
        (root / "stacks").mkdir(parents=True)
        (root / ".home").mkdir()
        (root / ".tmp").mkdir()
        self.env = {
            "AUTH0_CLIENT_ID": "runner-client",
            "AUTH0_CLIENT_SECRET": AUTH0_SECRET,
            "AWS_ACCESS_KEY_ID": "AKIARUNNER",
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
            "SLACK_WEBHOOK_URL": STACK_SECRET,
            "HOOKCTL_BUILD_DIR": str(root / ".hookctl" / "build"),
            "HOOKCTL_CACHE_DIR": str(root / ".hookctl" / "cache"),
        }

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def hk(self, *args: str, **env: str) -> Run:
        """Run hookctl in the checkout, as the CI step does."""
        full = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKCTL_", "AUTH0_", "AWS_"))}
        full.update({"NO_COLOR": "1", "HOME": str(self.root / ".home"), "TMPDIR": str(self.root / ".tmp")})
        full.update(self.env)
        full.update(env)
        proc = subprocess.run(
            [hookctl_path(), *args], cwd=self.root, env=full, capture_output=True, text=True, timeout=300
        )
        run = Run(list(args), proc.returncode, proc.stdout, proc.stderr)
        self.runs.append(run)
        return run

    def leaks(self) -> list[str]:
        places = [(f"stdout of hookctl {' '.join(r.args)}", r.out.encode()) for r in self.runs]
        places += [(f"stderr of hookctl {' '.join(r.args)}", r.err.encode()) for r in self.runs]
        places += list(blobs(self.root))
        places += [(f"bytes sent to the attacker's listener (#{i})", d) for i, d in enumerate(self.listener.received)]
        found = []
        for where, data in places:
            for name, form in canary_forms().items():
                if form in data:
                    found.append(f"canary ({name}) in {where}")
        return found

    def assert_clean(self) -> None:
        assert self.runs, "no hookctl command ran"
        found = self.leaks()
        assert not found, "\n".join(found)


def canary_forms() -> dict[str, bytes]:
    """The canary as it could appear in output or a request, by name of the encoding."""
    raw = CANARY.encode()
    forms = {
        "raw": raw,
        "url": urllib.parse.quote(CANARY, safe="").encode(),
        "json": json.dumps(CANARY)[1:-1].encode(),
        "utf-16": CANARY.encode("utf-16-le"),
    }
    for offset in range(3):
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            text = encode(b"\0" * offset + raw + b"\0\0\0")
            forms[f"{name}@{offset}"] = text[-(-offset * 4 // 3) : (offset + len(raw)) * 4 // 3]
    return forms


def blobs(root: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under root (zip members opened; symbolic links not followed)."""
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        yield str(path.relative_to(root)), data
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for member in zf.namelist():
                    yield f"{path.relative_to(root)}!{member}", zf.read(member)
