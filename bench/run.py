"""Run every benchmark and write bench/RESULTS.md.

    .venv/bin/python bench/run.py
"""

from __future__ import annotations

import datetime
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    for name in ("bench_auth0", "bench_cognito"):
        if (HERE / f"{name}.py").exists():
            print(f"running {name} …", file=sys.stderr)
            parts.append(_load(name).main([]))  # type: ignore[attr-defined]
    (HERE / "RESULTS.md").write_text("\n".join(parts) + "\n")
    print(f"wrote {HERE / 'RESULTS.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
