"""The dependency cache: npm and pip dependency sets installed once and reused.
Local runs: the dependency installs behind ``--install-deps``.

A handler's declared dependencies (with the lock file kept beside the stack,
if any) name one set; ``DependencyCache`` installs it once under
``~/.cache/hookctl`` (or ``HOOKCTL_CACHE_DIR``) and hands the runner its
path. I/O: runs ``npm`` or ``pip`` in a subprocess (only when asked to
install), writes the cache directory. Install scripts never run
(``--ignore-scripts``; pip takes wheels only).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence

from ..engine.errors import HookctlError

INSTALL_TIMEOUT_S = 600
CACHE_FORMAT = 1
OUTPUT_TAIL = 20  # lines of npm / pip output an install error shows

Progress = Callable[[str], None]


class InstallError(HookctlError):
    """A dependency set could not be installed (no npm, a failed or endless install)."""


class DependencyCache:
    """npm (and pip) dependency sets installed once, keyed by their content, and reused.

    ``<root>/npm/<key>/node_modules`` for Node.js, ``<root>/pip/<key>`` for
    Python. The key covers the dependency list and the lock file, if one is
    kept beside the stack (``locks/<name>/package-lock.json``); without one,
    hookctl generates a lock file (``npm install --package-lock-only``) and
    installs exactly that with ``npm ci``.
    """

    def __init__(
        self,
        root: str,
        *,
        runner: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
        progress: Progress | None = None,
    ) -> None:
        self.root = os.path.abspath(root)
        self._lock = threading.Lock()  # parallel cases never install the same set twice
        self._run = runner
        self._say = progress or (lambda _m: None)

    @staticmethod
    def default_root() -> str:
        configured = os.environ.get("HOOKCTL_CACHE_DIR")
        if configured:
            return configured
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return os.path.join(base, "hookctl")

    def _key(self, language: str, deps: Sequence[tuple[str, str]], lock: str | None) -> str:
        lock_digest = None
        if lock is not None:
            with open(lock, "rb") as fh:
                lock_digest = hashlib.sha256(fh.read()).hexdigest()
        text = json.dumps(
            {"format": CACHE_FORMAT, "language": language, "deps": [list(d) for d in deps], "lock": lock_digest},
            sort_keys=True,
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def path(self, language: str, deps: Sequence[tuple[str, str]], lock: str | None) -> str:
        sub = "pip" if language == "py" else "npm"
        return os.path.join(self.root, sub, self._key(language, deps, lock))

    def find(self, language: str, deps: Sequence[tuple[str, str]], lock: str | None) -> str | None:
        """The installed set, or None when it was never installed."""
        if not deps:
            return None
        path = self.path(language, deps, lock)
        return path if os.path.isfile(os.path.join(path, ".hookctl-complete")) else None

    def install(self, address: str, language: str, deps: Sequence[tuple[str, str]], lock: str | None) -> str:
        with self._lock:
            return self._install(address, language, deps, lock)

    def _install(self, address: str, language: str, deps: Sequence[tuple[str, str]], lock: str | None) -> str:
        found = self.find(language, deps, lock)
        if found or not deps:
            return found or ""
        final = self.path(language, deps, lock)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        work = tempfile.mkdtemp(prefix=".install-", dir=os.path.dirname(final))
        try:
            if language == "py":
                self._install_pip(address, deps, lock, work)
            else:
                self._install_npm(address, deps, lock, work)
            with open(os.path.join(work, ".hookctl-complete"), "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"dependencies": [list(d) for d in deps]}) + "\n")
            try:
                os.rename(work, final)
            except OSError:
                if not self.find(language, deps, lock):  # another run won the race: keep theirs
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return final

    def _install_npm(self, address: str, deps: Sequence[tuple[str, str]], lock: str | None, work: str) -> None:
        package = {"name": "hookctl-local-run", "version": "0.0.0", "private": True, "dependencies": dict(deps)}
        with open(os.path.join(work, "package.json"), "w", encoding="utf-8") as fh:
            json.dump(package, fh, indent=2, sort_keys=True)
        common = ["--ignore-scripts", "--no-audit", "--no-fund"]
        if lock is not None:
            shutil.copyfile(lock, os.path.join(work, "package-lock.json"))
        else:
            self._say(f"{address}: npm install --package-lock-only ({len(deps)} packages)")
            self._command(address, ["npm", "install", "--package-lock-only", *common], work)
        self._say(f"{address}: npm ci ({len(deps)} packages)")
        self._command(address, ["npm", "ci", "--omit=dev", *common], work)

    def _install_pip(self, address: str, deps: Sequence[tuple[str, str]], lock: str | None, work: str) -> None:
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--target",
            work,
            # Wheels only: an sdist's build runs its setup code with this process's environment.
            "--only-binary=:all:",
            "--no-input",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
        ]
        if lock is not None:
            command += ["--constraint", lock]
        command += ["--", *(f"{name}=={version}" for name, version in deps)]
        self._say(f"{address}: pip install ({len(deps)} packages)")
        self._command(address, command, work)

    def _command(self, address: str, command: list[str], cwd: str) -> None:
        try:
            result = self._run(
                command,
                cwd=cwd,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                check=False,
                timeout=INSTALL_TIMEOUT_S,
            )
        except FileNotFoundError:
            raise InstallError(
                f"installing dependencies of {address}: `{command[0]}` not found",
                hint="Install Node.js and npm." if command[0] == "npm" else None,
            ) from None
        except subprocess.TimeoutExpired:
            raise InstallError(
                f"installing dependencies of {address}: `{' '.join(command)}` took over {INSTALL_TIMEOUT_S} s"
            ) from None
        if result.returncode != 0:
            tail = "\n".join(
                "  " + line for line in (result.stderr or result.stdout).strip().splitlines()[-OUTPUT_TAIL:]
            )
            raise InstallError(
                f"installing dependencies of {address}: `{' '.join(command)}` failed "
                f"(exit code {result.returncode})\n{tail}"
            )
