"""Writers: a ``Plan`` as terminal text, JSON or Markdown. No I/O beyond returning text.
Engine: how a plan is shown (plan, show, the pull-request comment).

Terminal output follows Terraform's idiom (``+`` create, ``~`` update,
``-`` delete, ``-/+`` replace) with field-level changes and a unified diff of
code. Sensitive fields are shown only as ``(sensitive)`` / ``(changed)``.
The JSON document is versioned (``format_version``) and documented in
``docs/plan-json.md``.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from .plan import (
    CREATE,
    DELETE,
    NOOP,
    REPLACE,
    UPDATE,
    FieldChange,
    Plan,
    ResourceChange,
    plan_to_json,
)

# NOOP: something to know (a draft whose build failed) that apply will not act on.
SYMBOLS = {CREATE: "+", UPDATE: "~", DELETE: "-", REPLACE: "-/+", NOOP: "!"}
COLOURS = {CREATE: "green", UPDATE: "yellow", DELETE: "red", REPLACE: "magenta", NOOP: "red"}
MARKDOWN_LIMIT = 60_000  # GitHub comments are capped at 65,536 characters


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _field_line(change: ResourceChange, f: FieldChange) -> str:
    if f.path == "code":
        return f"~ code: {f.before or '(none)'} -> {f.after or '(none)'}"
    if f.sensitive:
        if isinstance(f.before, str) and f.before.startswith("(unknown"):
            # Not a value: what hookctl knows of a secret it cannot compare (see the change's reason).
            return f"~ {f.path} = (sensitive) {f.before} -> the stack's value, sent again"
        if f.before is None:
            return f"+ {f.path} = (sensitive)"
        if f.after is None:
            return f"- {f.path} = (sensitive)"
        return f"~ {f.path} = (sensitive) (changed)"
    if change.kind == CREATE or f.before is None:
        return f"+ {f.path} = {_show(f.after)}"
    if f.after is None:
        return f"- {f.path} = {_show(f.before)}"
    return f"~ {f.path}: {_show(f.before)} -> {_show(f.after)}"


def code_diff(change: ResourceChange, context: int = 3) -> list[str]:
    before = (change.code_before or "").splitlines()
    after = (change.code_after or "").splitlines()
    if change.code_before == change.code_after:
        return []
    return list(
        difflib.unified_diff(before, after, f"live/{change.address}", f"stack/{change.address}", n=context, lineterm="")
    )


def text(plan: Plan, colour: bool = False) -> str:
    def paint(s: str, name: str) -> str:
        if not colour:
            return s
        import click

        return click.style(s, fg=name)

    lines: list[str] = []
    if not plan.changes:
        if plan.targets:
            lines.append(
                f"No changes to the targeted resources of {plan.stack}/{plan.environment}.{plan.partial_note()}"
            )
        else:
            lines.append(f"No changes. {plan.stack}/{plan.environment} matches the stack.")
        return "\n".join(lines) + "\n"
    partial = f" (partial plan: only {', '.join(plan.targets)} and what it needs)" if plan.targets else ""
    if plan.operations:
        lines.append(f"hookctl will make these changes to {plan.stack}/{plan.environment}{partial}:")
    else:
        lines.append(f"Nothing to apply to {plan.stack}/{plan.environment}{partial}, but:")
    lines.append("")
    for change in plan.changes:
        sym = SYMBOLS.get(change.kind, "?")
        lines.append(paint(f"  {sym} {change.address}", COLOURS.get(change.kind, "white")) + f" ({change.kind})")
        if change.reason:
            lines.append(f"      # {change.reason}")
        for f in change.fields:
            if f.path == "code" and change.kind != CREATE:
                continue
            lines.append(f"      {_field_line(change, f)}")
        if change.kind == CREATE and change.code_after is not None:
            lines.append(f"      + code ({len(change.code_after.splitlines())} lines)")
        elif change.kind != DELETE:
            for d in code_diff(change):
                tint = (
                    "green"
                    if d.startswith("+")
                    else "red"
                    if d.startswith("-")
                    else "cyan"
                    if d.startswith("@")
                    else ""
                )
                lines.append("      " + (paint(d, tint) if tint else d))
        lines.append("")
    if plan.operations:
        lines.append("Steps:")
        for i, op in enumerate(plan.operations, 1):
            lines.append(f"  {i:>2}. {op.description}")
        lines.append("")
    lines.append(plan.summary())
    return "\n".join(lines) + "\n"


def as_json(plan: Plan) -> str:
    return json.dumps(plan_to_json(plan, digests=False), indent=2, sort_keys=False) + "\n"


def markdown(plan: Plan, limit: int = MARKDOWN_LIMIT) -> str:
    partial = f" (partial: `{'`, `'.join(plan.targets)}`)" if plan.targets else ""
    head = [f"### hookctl plan: `{plan.stack}` / `{plan.environment}`{partial}", ""]
    if not plan.changes:
        head.append(
            f"**No changes.**{plan.partial_note()}"
            if plan.targets
            else "**No changes.** The live systems match the stack."
        )
        return "\n".join(head) + "\n"
    head.append(f"**{plan.summary()}**")
    head.append("")
    head.append("| | resource | change |")
    head.append("|---|---|---|")
    for c in plan.changes:
        head.append(
            f"| `{SYMBOLS.get(c.kind, '?')}` | `{c.address}` | {c.kind}{' — ' + c.reason if c.reason else ''} |"
        )
    head.append("")
    body: list[str] = []
    for c in plan.changes:
        body.append(f"<details><summary><code>{SYMBOLS.get(c.kind, '?')} {c.address}</code> ({c.kind})</summary>")
        body.append("")
        field_lines = [_field_line(c, f) for f in c.fields if f.path != "code"]
        if field_lines:
            body.extend(["```diff", *field_lines, "```"])
        diff_lines = code_diff(c) if c.kind != CREATE else []
        if c.kind == CREATE and c.code_after:
            diff_lines = [f"+{line}" for line in c.code_after.splitlines()]
        if diff_lines:
            body.append("")
            body.append("```diff")
            body.extend(line.replace("```", "`\u200b``") for line in diff_lines)
            body.append("```")
        body.append("")
        body.append("</details>")
        body.append("")
    out = "\n".join(head) + "\n" + "\n".join(body)
    if len(out) > limit:
        cut = out[:limit].rsplit("\n</details>", 1)[0]
        out = (
            cut
            + "\n</details>\n\n"
            + (
                "_The plan is too long for a comment; the full plan is in the job's artifacts "
                "(`hookctl plan --json`)._\n"
            )
        )
    return out
