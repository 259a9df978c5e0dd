"""Run every benchmark and write bench/RESULTS.md.

.venv/bin/python bench/run.py
"""

from __future__ import annotations

import datetime
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE_HEADING = "## Test suite duration"


def _load(name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def startup(runs: int = 7) -> str:
    """Median wall time of `hookctl --help` and `hookctl validate` (SDK imports are deferred)."""
    import os
    import platform
    import statistics
    import subprocess
    import time

    hookctl = str(Path(sys.executable).parent / "hookctl")
    repo = HERE.parent
    env = {**os.environ, "SLACK_WEBHOOK_URL": "https://hooks.slack.invalid/bench"}
    rows = []
    for args in (["--help"], ["validate", "-s", "stacks/example.yaml"]):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run([hookctl, *args], cwd=repo, env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - t0)
        rows.append(f"| `hookctl {' '.join(args)}` | {statistics.median(times):.3f} | {min(times):.3f} |")
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()})"
    return "\n".join(
        [
            f"### CLI start-up — {machine}",
            "",
            f"| command | median s ({runs} runs) | best s |",
            "|---|---|---|",
            *rows,
            "",
        ]
    )


def main() -> None:
    parts = [
        "# Benchmark results",
        "",
        "Produced by `make bench` (bench/run.py); numbers from a real run on the machine named in each heading.",
        "Machines here are shared and noisy: compare rows as ratios within one table, not across runs.",
        '"(min)" is the least number of calls that work can take, so the gap is visible.',
        "",
        f"Run on {datetime.date.today().isoformat()}.",
        "",
    ]
    parts.append(startup())
    for name in (
        "bench_auth0",
        "bench_parallel",
        "bench_cognito",
        "bench_cognito_waits",
        "bench_badinput",
        "bench_delays",
    ):
        if (HERE / f"{name}.py").exists():
            print(f"running {name} …", file=sys.stderr)
            parts.append(_load(name).main([]))  # type: ignore[attr-defined]
    if (HERE / "bench_cognito.py").exists():
        print("running bench_cognito --realistic …", file=sys.stderr)
        parts.append(_load("bench_cognito").main(["--realistic"]))  # type: ignore[attr-defined]
    results = HERE / "RESULTS.md"
    # The test-suite durations are measured by hand (a full `make test` takes minutes): keep them.
    kept = results.read_text().partition(SUITE_HEADING)[2] if results.exists() else ""
    if kept:
        parts += ["", SUITE_HEADING + kept.rstrip("\n")]
    results.write_text("\n".join(parts) + "\n")
    print(f"wrote {HERE / 'RESULTS.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
