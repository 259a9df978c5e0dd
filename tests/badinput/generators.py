"""Corpus cases too big (or too repetitive) to commit: written into the case's copy at test time.

Each generator gets the case directory (already holding whatever the corpus commits for it)
and writes the rest. Keys are corpus directory names without their number.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

MIB = 1024 * 1024

HEAD = """\
stack: corpus
environments:
  dev:
    auth0:
      domain: dev.example.auth0.com
"""


def alias_chain(case: Path) -> None:
    """100 anchors, each a list holding the previous one: shallow text, deep values."""
    lines = [HEAD, "vars:\n", "  a0: &a0 [end]\n"]
    lines += [f"  a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 100)]
    (case / "stack.yaml").write_text("".join(lines))


def deep_flow_nesting(case: Path) -> None:
    """Just under 1 MiB of '[': ruamel.yaml alone would recurse and crawl through it."""
    text = HEAD + "vars:\n  x: "
    (case / "stack.yaml").write_text(text + "[" * (MIB - len(text) - 16) + "\n")


def deep_block_nesting(case: Path) -> None:
    """200 levels of block mappings, one per line."""
    lines = [HEAD, "vars:\n"] + [" " * (2 * level + 2) + f"k{level}:\n" for level in range(200)]
    (case / "stack.yaml").write_text("".join(lines))


def huge_file(case: Path) -> None:
    """A valid stack followed by 1.5 MiB of comments."""
    (case / "stack.yaml").write_text(HEAD + ("# padding padding padding padding padding padding padding\n" * 27_000))


def many_values(case: Path) -> None:
    """25,000 list items in vars, no aliases: still refused (values are walked one by one)."""
    (case / "stack.yaml").write_text(HEAD + "vars:\n  big:\n" + "    - 1\n" * 25_000)


def huge_number(case: Path) -> None:
    """An integer past Python's 4300-digit conversion limit."""
    (case / "stack.yaml").write_text(HEAD + "vars:\n  n: " + "7" * 5_000 + "\n")


def many_problems(case: Path) -> None:
    """150 unknown keys: the report stops after 100 problems."""
    (case / "stack.yaml").write_text(HEAD + "".join(f"unknown{i}: {i}\n" for i in range(150)))


def huge_template_with_error(case: Path) -> None:
    """A 60,000-line template whose last line uses an undefined variable."""
    (case / "templates").mkdir(exist_ok=True)
    body = "// filler line of a very long handler\n" * 59_999
    (case / "templates" / "hello.js.j2").write_text(body + "console.log({{ missing_var | js }});\n")


def plan_deep_nesting(case: Path) -> None:
    """A plan file of 200,000 nested JSON arrays."""
    (case / "plan.json").write_text("[" * 200_000 + "]" * 200_000)


GENERATORS: dict[str, Callable[[Path], None]] = {
    "yaml-alias-chain": alias_chain,
    "yaml-deep-flow-nesting": deep_flow_nesting,
    "yaml-deep-block-nesting": deep_block_nesting,
    "yaml-huge-file": huge_file,
    "yaml-many-values": many_values,
    "yaml-huge-number": huge_number,
    "yaml-many-problems": many_problems,
    "template-huge-with-error": huge_template_with_error,
    "plan-deep-nesting": plan_deep_nesting,
}
