"""Diff stage: desired vs live normalised documents → per-resource changes.
Engine: stage 6 of the pipeline (diff).

No I/O. Providers normalise both sides into the same shape first (API
defaults applied, ``None`` dropped, order-free lists sorted, secret values
replaced by salted hashes); this module only compares, with deepdiff, and
names each changed field. Code is compared as text and carried whole so a
writer can show a unified diff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .plan import CREATE, DELETE, NOOP, REPLACE, UPDATE, FieldChange, ResourceChange


@dataclass(frozen=True)
class Resource:
    """A normalised document for one resource, desired or live.

    ``code`` is kept outside ``doc`` so it can be diffed as text;
    ``sensitive`` lists top-level keys whose values must never be shown
    (they hold hashes, but even those are not for display);
    ``replace_on`` lists top-level keys whose change forces a replacement.
    """

    address: str
    doc: Mapping[str, Any]
    code: str | None = None
    sensitive: frozenset[str] = frozenset()
    replace_on: frozenset[str] = frozenset()
    drift: str = ""  # provider-detected drift the documents cannot express
    extra: Mapping[str, Any] = field(default_factory=dict)  # provider data (ids), not compared


def _path(level: Any) -> str:
    parts = level.path(output_format="list")
    return ".".join(str(p) for p in parts)


def _value(value: Any) -> Any:
    from deepdiff.helper import NotPresent

    return None if isinstance(value, NotPresent) else value


def compare(desired: Resource, live: Resource) -> tuple[FieldChange, ...]:
    from deepdiff import DeepDiff  # deferred: a second of import that validate and --help never need

    changes: list[FieldChange] = []
    tree = DeepDiff(dict(live.doc), dict(desired.doc), view="tree", verbose_level=2)
    for report in tree.values():
        for level in report:
            path = _path(level)
            top = path.split(".", 1)[0]
            changes.append(FieldChange(path, _value(level.t1), _value(level.t2), sensitive=top in desired.sensitive))
    if desired.code != live.code:
        changes.append(FieldChange("code", _digest(live.code), _digest(desired.code)))
    return tuple(sorted(changes, key=lambda c: c.path))


def _digest(code: str | None) -> str | None:
    if code is None:
        return None
    import hashlib

    return f"sha256:{hashlib.sha256(code.encode()).hexdigest()[:12]} ({len(code.encode())} bytes)"


def _created_fields(want: Resource) -> list[FieldChange]:
    fields: list[FieldChange] = []
    for key, value in sorted(want.doc.items()):
        if key in want.sensitive and isinstance(value, Mapping):
            # One line per secret name, so a reviewer sees which secrets are set.
            fields.extend(FieldChange(f"{key}.{name}", None, "(sensitive)", True) for name in sorted(value))
        else:
            fields.append(FieldChange(key, None, value, sensitive=key in want.sensitive))
    return fields


def diff(
    desired: Mapping[str, Resource],
    live: Mapping[str, Resource],
    deletable: Iterable[str] = (),
) -> list[ResourceChange]:
    """Changes in desired order, then deletions of ``deletable`` live resources not desired."""
    result: list[ResourceChange] = []
    for address, want in desired.items():
        have = live.get(address)
        if have is None:
            fields = tuple(_created_fields(want))
            result.append(ResourceChange(address, CREATE, fields, None, want.code))
            continue
        fields = compare(want, have)
        drift = have.drift
        if not fields and not drift:
            continue
        kind = UPDATE
        if any(f.path.split(".", 1)[0] in want.replace_on for f in fields):
            kind = REPLACE
        result.append(ResourceChange(address, kind, fields, have.code, want.code, reason=drift))
    for address in deletable:
        if address not in desired and address in live:
            have = live[address]
            result.append(ResourceChange(address, DELETE, (), have.code, None))
    return result


__all__ = ["CREATE", "DELETE", "NOOP", "REPLACE", "UPDATE", "Resource", "compare", "diff"]
