"""Whether action code parses: ``node --check`` when node is on PATH, else a bracket scan.
Sandbox: the Auth0 emulator's optional build check (``EmulatorConfig.syntax_check``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path


class SyntaxChecker:
    """Decides whether action code would build.

    ``node --check`` (when node is on PATH) parses the code as a CommonJS script,
    which is what an Action is; results are cached by code hash. Without node, a
    bracket-balance scan that skips strings, template literals and comments is
    the fallback (regular-expression literals are not understood, so ``/\\(/``
    would be a false failure).
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._node = shutil.which("node") if mode in ("auto", "node") else None
        if mode == "node" and self._node is None:
            raise RuntimeError("syntax_check='node' but node is not on PATH")
        self._cache: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._dir: Path | None = None

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def check(self, code: str) -> list[str]:
        """Return human-readable problems; an empty list means the code parses."""
        if self.mode == "off":
            return []
        digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None:
            return list(cached)
        problems = self._node_check(code, digest) if self._node else None
        if problems is None:
            problems = _bracket_check(code)
        with self._lock:
            self._cache[digest] = problems
        return list(problems)

    def _node_check(self, code: str, digest: str) -> list[str] | None:
        assert self._node is not None
        with self._lock:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="auth0-emu-check-"))
            folder = self._dir
        # One file per check, not per digest: two requests carrying the same code (a
        # create retried while its first attempt is still being handled) are checked
        # concurrently, and a shared path let one check delete the other's file, so
        # node reported "Cannot find module" and the build was marked failed.
        handle, name = tempfile.mkstemp(prefix=digest[:16], suffix=".js", dir=folder)
        path = Path(name)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(code)
        try:
            proc = subprocess.run(
                [self._node, "--check", str(path)],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        finally:
            path.unlink(missing_ok=True)
        if proc.returncode == 0:
            return []
        lines = proc.stderr.splitlines()
        message = next((ln for ln in lines if re.match(r"^\w*Error\b", ln)), None)
        if message is None:
            return None  # node failed for another reason: fall back
        where = re.search(r":(\d+)$", lines[0]) if lines else None
        if where:
            message = f"{message} (line {where.group(1)})"
        return [message]


def _bracket_check(code: str) -> list[str]:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[tuple[str, int]] = []
    i, line, n = 0, 1, len(code)
    while i < n:
        ch = code[i]
        if ch == "\n":
            line += 1
        elif ch in "'\"`":
            quote, i = ch, i + 1
            while i < n and code[i] != quote:
                if code[i] == "\\":
                    i += 1
                elif code[i] == "\n":
                    if quote != "`":
                        return [f"SyntaxError: Invalid or unexpected token (line {line})"]
                    line += 1
                i += 1
            if i >= n:
                return [f"SyntaxError: Unterminated string literal (line {line})"]
        elif code.startswith("//", i):
            while i < n and code[i] != "\n":
                i += 1
            continue
        elif code.startswith("/*", i):
            end = code.find("*/", i + 2)
            if end < 0:
                return [f"SyntaxError: Unterminated comment (line {line})"]
            line += code.count("\n", i, end)
            i = end + 2
            continue
        elif ch in "([{":
            stack.append((ch, line))
        elif ch in ")]}":
            if not stack or stack[-1][0] != pairs[ch]:
                return [f"SyntaxError: Unexpected token '{ch}' (line {line})"]
            stack.pop()
        i += 1
    if stack:
        return [f"SyntaxError: Unexpected end of input (opened line {stack[-1][1]})"]
    return []
