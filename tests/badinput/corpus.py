"""The bad-input corpus: what a case is, and how it is run through the ``hookctl`` console script.

A case is a directory under ``corpus/``:

- ``stack.yaml`` (and ``templates/``, ``plan.json``, ...): the input;
- ``expected.txt``: every problem line hookctl must print, one a line, as seen from inside the
  case directory (``stack.yaml:3: auth0.actions.x.trigger: ...``). A printed line must start with
  it, and the case must print exactly as many problem lines as it lists. ``#`` lines are comments;
- ``args`` (optional): the command line, default ``validate -s stack.yaml``;
- ``env`` (optional): ``NAME=value`` lines added to the environment;
- ``tamper.json`` (optional): first ``plan --out plan.json``, then change the saved plan
  (``set``: ``[[path, value], ...]``; ``truncate``: keep that many bytes;
  ``stack_append``: text appended to the stack after planning);
- ``max_seconds`` (optional): wall-clock bound for this case (bombs, huge inputs).

Cases without ``args``, ``env``, ``tamper.json`` or ``max_seconds`` are validated together in one
process (``validate -s A/stack.yaml -s B/stack.yaml ...``): problems are reported per file. The
others run one process each, a few at a time. Every process runs under a 1 GiB address-space
limit, so a bomb that is not refused fails loudly instead of exhausting the machine.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cli.helpers import hookctl_path

from .generators import GENERATORS

CORPUS = Path(__file__).resolve().parent / "corpus"
DEFAULT_ARGS = ("validate", "-s", "stack.yaml")
MEMORY_LIMIT = 1024 * 1024 * 1024
DEFAULT_MAX_SECONDS = 30.0
STORE = "live.json"
# Runs hookctl with an address-space limit (preexec_fn is unsafe with the threads used here).
LIMITED = (
    "import os, resource, sys; "
    "resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1]))); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


@dataclass(frozen=True)
class Case:
    name: str  # directory name, e.g. "17-yaml-deep-flow-nesting"
    dir: Path
    expected: tuple[str, ...]
    args: tuple[str, ...] | None
    env: dict[str, str] = field(default_factory=dict)
    tamper: dict[str, Any] | None = None
    max_seconds: float | None = None

    @property
    def key(self) -> str:
        return self.name.split("-", 1)[1]

    @property
    def batched(self) -> bool:
        return self.args is None and not self.env and self.tamper is None and self.max_seconds is None


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    seconds: float
    lines: list[str]  # this case's problem lines, relative to the case directory
    store_written: bool


def load_cases() -> list[Case]:
    cases = []
    for d in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        expected = tuple(
            line
            for line in (d / "expected.txt").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        )
        args = tuple(shlex.split((d / "args").read_text())) if (d / "args").exists() else None
        env = {}
        if (d / "env").exists():
            for line in (d / "env").read_text().splitlines():
                if line.strip():
                    name, _, value = line.partition("=")
                    env[name] = value
        tamper = json.loads((d / "tamper.json").read_text()) if (d / "tamper.json").exists() else None
        limit = float((d / "max_seconds").read_text()) if (d / "max_seconds").exists() else None
        cases.append(Case(d.name, d, expected, args, env, tamper, limit))
    return cases


def base_env(store: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKCTL_", "AUTH0_", "AWS_"))}
    env.update({"NO_COLOR": "1", "HOOKCTL_FAKE_STORE": str(store), **(extra or {})})
    return env


def hookctl(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> tuple[int, str, str, float]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", LIMITED, str(MEMORY_LIMIT), hookctl_path(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started


def problem_lines(err: str, prefix: str = "") -> list[str]:
    """The problem lines of stderr (``Error: `` and the ``N problems:`` header removed)."""
    lines = err.splitlines()
    if lines and lines[0].startswith("Error: "):
        lines[0] = lines[0][len("Error: ") :]
    if lines and lines[0].endswith(" problems:") and lines[0].split()[0].isdigit():
        lines = lines[1:]
    lines = [line for line in lines if not line.startswith("Hint: ")]
    return [line[len(prefix) :] for line in lines if line.startswith(prefix)] if prefix else lines


def prepare(cases: list[Case], work: Path) -> None:
    for case in cases:
        shutil.copytree(case.dir, work / case.name, ignore=shutil.ignore_patterns("expected.txt"))
        generate = GENERATORS.get(case.key)
        if generate is not None:
            generate(work / case.name)


def _tamper(case: Case, where: Path, env: dict[str, str]) -> None:
    code, _out, err, _s = hookctl(["plan", "-s", "stack.yaml", "-e", "dev", "--out", "plan.json"], where, env)
    assert code == 0, f"{case.name}: the plan to tamper with failed: {err}"
    spec = case.tamper or {}
    plan_path = where / "plan.json"
    doc = json.loads(plan_path.read_text())
    for path, value in spec.get("set", []):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    text = json.dumps(doc, indent=2)
    if "truncate" in spec:
        text = text[: spec["truncate"]]
    plan_path.write_text(text)
    if "stack_append" in spec:
        with open(where / "stack.yaml", "a", encoding="utf-8") as fh:
            fh.write(spec["stack_append"])


def run_alone(case: Case, work: Path) -> Outcome:
    where = work / case.name
    env = base_env(where / STORE, case.env)
    if case.tamper is not None:
        _tamper(case, where, env)
    code, out, err, seconds = hookctl(list(case.args or DEFAULT_ARGS), where, env)
    return Outcome(code, out, err, seconds, problem_lines(err), (where / STORE).exists())


def run_batch(cases: list[Case], work: Path) -> dict[str, Outcome]:
    args = ["validate"]
    for case in cases:
        args += ["-s", f"{case.name}/stack.yaml"]
    store = work / STORE
    code, out, err, seconds = hookctl(args, work, base_env(store))
    return {
        case.name: Outcome(code, out, err, seconds, problem_lines(err, f"{case.name}/"), store.exists())
        for case in cases
    }


def run_all(cases: list[Case], work: Path) -> dict[str, Outcome]:
    prepare(cases, work)
    batched = [c for c in cases if c.batched]
    alone = [c for c in cases if not c.batched]
    with ThreadPoolExecutor(max_workers=2) as pool:
        batch = pool.submit(run_batch, batched, work)
        singles = {c.name: pool.submit(run_alone, c, work) for c in alone}
        results = {name: future.result() for name, future in singles.items()}
        results.update(batch.result())
    return results
