"""The bad-input corpus, end to end through the ``hookctl`` console script.

Every case must fail the way a user can act on: exit code 1, stderr starting with ``Error: ``,
exactly the problem lines in its ``expected.txt`` (``file:line: field: message``), no traceback or
"internal error", nothing written to the (fake) provider, no forbidden text (secret values) echoed,
all under a 1 GiB memory limit and a CPU-time cap (no wall-time bound: bench/bench_badinput.py
measures how long each bomb takes to be refused). See ``corpus.py`` for the case format.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from .corpus import CPU_LIMIT, LIMITED, MEMORY_LIMIT, Case, Outcome, load_cases, run_all
from .generators import GENERATORS

CASES = load_cases()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    return run_all(CASES, tmp_path_factory.mktemp("badinput"))


def test_corpus__at_least_forty_cases_each_with_expected_lines() -> None:
    assert len(CASES) >= 40
    for case in CASES:
        assert case.expected, f"{case.name}: expected.txt lists no problem line"
        inputs = {p.name for p in case.dir.iterdir()} - {"expected.txt", "args", "env", "alone", "forbidden.txt"}
        assert inputs or case.key in GENERATORS or case.args, f"{case.name}: no input file"


def test_corpus__every_generator_has_a_case() -> None:
    keys = {case.key for case in CASES}
    assert set(GENERATORS) <= keys, set(GENERATORS) - keys


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input__fails_cleanly_with_exact_problems(case: Case, outcomes: dict[str, Outcome]) -> None:
    got = outcomes[case.name]
    shown = f"\n--- stderr ---\n{got.err[-3000:]}\n--- stdout ---\n{got.out[-1000:]}"
    assert got.code == 1, f"exit code {got.code}{shown}"
    assert got.err.startswith("Error: "), shown
    assert "Traceback" not in got.err + got.out, shown
    assert "internal error" not in got.err, shown
    assert not got.store_written, f"a provider write happened{shown}"
    missing = [want for want in case.expected if not any(line.startswith(want) for line in got.lines)]
    assert not missing, f"missing problem lines: {missing}{shown}"
    assert len(got.lines) == len(case.expected), f"expected {len(case.expected)} problem lines{shown}"
    forbidden = case.dir / "forbidden.txt"
    if forbidden.exists():
        for text in forbidden.read_text().split():
            assert text not in got.err + got.out, f"{text!r} was echoed{shown}"


def test_runner__every_hookctl_process_runs_under_the_memory_and_cpu_limits() -> None:
    """The limits are what stop an unrefused bomb (no wall-time bound is asserted)."""
    probe = "import resource as r; print(r.getrlimit(r.RLIMIT_AS)[0], r.getrlimit(r.RLIMIT_CPU)[0])"
    shown = subprocess.run(
        [sys.executable, "-c", LIMITED, str(MEMORY_LIMIT), str(CPU_LIMIT), sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert shown == [str(MEMORY_LIMIT), str(CPU_LIMIT)]
