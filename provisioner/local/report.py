"""Test results: per-case results, per-stack reports, the summary line and JUnit XML.
Local runs: what hookctl test writes once the cases have run.

Input: ``CaseResult`` values grouped in a ``StackReport`` per stack and
environment. Output: pytest-like text (one line per case, a failure section, a
summary) and, on request, a JUnit XML file (the only I/O here).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from . import run as localrun
from .cases import Case, display_path


@dataclass
class CaseResult:
    case: Case
    status: str  # "passed" | "failed" | "skipped"
    failures: list[str] = field(default_factory=list)
    run: localrun.RunResult | None = None
    seconds: float = 0.0

    def details(self) -> str:
        lines = list(self.failures)
        if self.run is not None and self.status == "failed":
            if self.run.logs and not any("logged:" in f for f in self.failures):
                lines.append("logs:")
                lines += [f"  {line.text}" for line in self.run.logs[-localrun.LOG_TAIL :]]
            lines += [f"warning: {w}" for w in self.run.warnings]
            lines += [f"note: used hookctl's test shim for {shim}" for shim in self.run.shims]
        return "\n".join(lines)


@dataclass
class StackReport:
    stack_path: str
    environment: str
    tests_path: str
    results: list[CaseResult]
    deselected: int = 0
    notes: list[str] = field(default_factory=list)


def result_line(result: CaseResult) -> str:
    label = result.status.upper()
    timing = f" ({result.run.duration_ms:.0f} ms)" if result.run is not None else ""
    reason = f" — {result.failures[0]}" if result.status == "skipped" and result.failures else ""
    return f"{label:<7} {result.case.where} {result.case.title}{timing}{reason}"


def summary(reports: Sequence[StackReport], seconds: float, errors: int = 0) -> str:
    results = [r for report in reports for r in report.results]
    passed = sum(r.status == "passed" for r in results)
    failed = sum(r.status == "failed" for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    deselected = sum(report.deselected for report in reports)
    parts = [f"{passed} passed", f"{failed} failed"]
    if skipped:
        parts.append(f"{skipped} skipped")
    if deselected:
        parts.append(f"{deselected} deselected")
    if errors:
        parts.append(f"{errors} error{'s' if errors > 1 else ''}")
    return f"{', '.join(parts)} in {seconds:.2f}s"


def failure_section(reports: Sequence[StackReport]) -> str:
    blocks: list[str] = []
    for report in reports:
        for result in report.results:
            if result.status != "failed":
                continue
            head = f"{result.case.where} {result.case.title}"
            body = "\n".join(f"    {line}" for line in result.details().splitlines())
            blocks.append(f"___ {head} ___\n{body}")
    return "\n\n".join(blocks)


def write_junit(path: str, reports: Sequence[StackReport], seconds: float) -> None:
    """JUnit XML: one testsuite per stack and environment, one testcase per case."""
    root = ET.Element("testsuites", name="hookctl test", time=f"{seconds:.3f}")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for report in reports:
        suite = ET.SubElement(root, "testsuite", name=f"{display_path(report.stack_path)} ({report.environment})")
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        suite_time = 0.0
        for result in report.results:
            counts["tests"] += 1
            suite_time += result.seconds
            stack_name = os.path.splitext(os.path.basename(report.stack_path))[0]
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{stack_name}.{report.environment}.{result.case.target}",
                name=result.case.name,
                file=display_path(result.case.file),
                line=str(result.case.line or 0),
                time=f"{result.seconds:.3f}",
            )
            if result.status == "failed":
                counts["failures"] += 1
                first = result.failures[0].splitlines()[0] if result.failures else "failed"
                failure = ET.SubElement(case, "failure", message=first, type="AssertionError")
                failure.text = result.details()
            elif result.status == "skipped":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=result.failures[0] if result.failures else "skipped")
            if result.run is not None and result.run.logs:
                out = ET.SubElement(case, "system-out")
                out.text = result.run.log_text()
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("errors", "0")
        suite.set("time", f"{suite_time:.3f}")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    tree = ET.ElementTree(root)
    ET.indent(tree)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def iter_results(reports: Sequence[StackReport]) -> Iterator[CaseResult]:
    for report in reports:
        yield from report.results
