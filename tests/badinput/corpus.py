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
- ``alone`` (optional, any text): run this case in its own process (bombs, huge inputs).

Cases without ``args``, ``env``, ``tamper.json`` or ``alone`` are validated together in one
process (``validate -s A/stack.yaml -s B/stack.yaml ...``): problems are reported per file. The
others run one process each, a few at a time. Every process runs under a 1 GiB address-space
limit and a 60 s CPU-time limit, so a bomb that is not refused fails loudly (killed, not exit
code 1) instead of exhausting the machine. The tests assert no wall time: how long each bomb
takes to be refused is measured by ``bench/bench_badinput.py`` (bench/RESULTS.md).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cli.helpers import hookctl_path

from .generators import GENERATORS

CORPUS = Path(__file__).resolve().parent / "corpus"
DEFAULT_ARGS = ("validate", "-s", "stack.yaml")
MEMORY_LIMIT = 1024 * 1024 * 1024
# CPU seconds, not wall time: a resource cap like the memory limit, unaffected by a busy machine
# (the slowest case needs about 2 CPU seconds). A bomb ground through instead of refused hits it.
CPU_LIMIT = 60
STORE = "live.json"
# Runs hookctl with address-space and CPU-time limits (preexec_fn is unsafe with the threads used here).
LIMITED = (
    "import os, resource, sys; "
    "resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1]))); "
    "resource.setrlimit(resource.RLIMIT_CPU, (int(sys.argv[2]), int(sys.argv[2]))); "
    "os.execv(sys.argv[3], sys.argv[3:])"
)


@dataclass(frozen=True)
class Case:
    name: str  # directory name, e.g. "17-yaml-deep-flow-nesting"
    dir: Path
    expected: tuple[str, ...]
    args: tuple[str, ...] | None
    env: dict[str, str] = field(default_factory=dict)
    tamper: dict[str, Any] | None = None
    alone: bool = False

    @property
    def key(self) -> str:
        return self.name.split("-", 1)[1]

    @property
    def batched(self) -> bool:
        return self.args is None and not self.env and self.tamper is None and not self.alone


@dataclass
class Outcome:
    code: int
    out: str
    err: str
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
        cases.append(Case(d.name, d, expected, args, env, tamper, (d / "alone").exists()))
    return cases


def base_env(store: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKCTL_", "AUTH0_", "AWS_"))}
    env.update({"NO_COLOR": "1", "HOOKCTL_FAKE_STORE": str(store), **(extra or {})})
    return env


def hookctl(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> tuple[int, str, str]:
    """Run the console script under the limits; ``timeout`` only keeps a hung process from hanging the suite."""
    proc = subprocess.run(
        [sys.executable, "-c", LIMITED, str(MEMORY_LIMIT), str(CPU_LIMIT), hookctl_path(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


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
    code, _out, err = hookctl(["plan", "-s", "stack.yaml", "-e", "dev", "--out", "plan.json"], where, env)
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
    code, out, err = hookctl(list(case.args or DEFAULT_ARGS), where, env)
    return Outcome(code, out, err, problem_lines(err), (where / STORE).exists())


def run_batch(cases: list[Case], work: Path) -> dict[str, Outcome]:
    args = ["validate"]
    for case in cases:
        args += ["-s", f"{case.name}/stack.yaml"]
    store = work / STORE
    code, out, err = hookctl(args, work, base_env(store))
    return {case.name: Outcome(code, out, err, problem_lines(err, f"{case.name}/"), store.exists()) for case in cases}


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
