"""The hookctl error tree.
Engine: the core every layer raises from.

Every error hookctl raises on purpose is a ``HookctlError``. Each class owns
its message; the CLI prints ``Error: <message>`` (plus ``Hint: …`` when there
is one) on stderr and exits 1. Messages never carry secret values: callers pass
names and addresses, not values.
"""

from __future__ import annotations

from dataclasses import dataclass


class HookctlError(Exception):
    """Base class: a failure hookctl understands and can explain."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Problem:
    """One located problem in a stack file or template: ``file:line: field: message``."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}"


class InputError(HookctlError):
    """Bad input: stack file, template, variable or secret source. No API is touched."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], *, hint: str | None = None):
        self.problems = tuple(problems)
        count = len(self.problems)
        head = "\n".join(str(p) for p in self.problems)
        if count > 1:
            head = f"{count} problems:\n{head}"
        super().__init__(head, hint=hint)


class ProviderError(HookctlError):
    """A provider call failed; names the resource and the API call."""

    def __init__(
        self,
        provider: str,
        call: str,
        resource: str,
        detail: str,
        *,
        hint: str | None = None,
        status: int | None = None,
    ) -> None:
        self.provider = provider
        self.call = call
        self.resource = resource
        self.detail = detail
        self.status = status
        super().__init__(f"{provider} {call} for {resource} failed: {detail}", hint=hint)


class StaleError(HookctlError):
    """A saved plan no longer matches the live systems or the stack it came from."""


class LockError(HookctlError):
    """The state lock is held by someone else."""


class ApplyError(HookctlError):
    """An operation failed mid-apply; says what failed and what already happened."""

    def __init__(
        self, failed: str, cause: Exception, done: list[str], others: list[tuple[str, Exception]] | None = None
    ) -> None:
        self.failed = failed
        self.cause = cause
        self.done = tuple(done)
        # Operations running in parallel with the first failure may fail too: each is reported.
        self.others = tuple(others or ())
        done_text = ", ".join(done) if done else "nothing"
        also = "".join(f"\nAlso failed: {what}: {why}" for what, why in self.others)
        super().__init__(
            f"{failed}: {cause}{also}\nAlready done: {done_text}.",
            hint="Fix the cause and run apply again: it picks up from the live state.",
        )


class AbortedError(HookctlError):
    """The user declined, or confirmation was impossible."""


class OwnershipError(HookctlError):
    """The stack declares live resources it does not own; nothing is planned, nothing written."""

    def __init__(self, conflicts: list[str] | tuple[str, ...], where: str) -> None:
        self.conflicts = tuple(conflicts)
        lines = "\n".join(f"  {c}" for c in self.conflicts)
        super().__init__(
            f"{where} does not own {len(self.conflicts)} live resource(s) it declares; refusing to change them:\n"
            f"{lines}",
            hint="hookctl changes only what this stack and environment own. Bring an existing resource under "
            "management with `hookctl import` then `hookctl adopt`, rename the stack's entry, or change it "
            "in the stack that owns it.",
        )


class LimitError(HookctlError):
    """Applying the plan would break a service limit; found at plan time, so nothing was written."""

    def __init__(self, problems: list[str] | tuple[str, ...], where: str) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(
            f"{where}: the plan would exceed {len(self.problems)} service limit(s); nothing was written:\n{lines}",
            hint="Remove what each line says from the stack (or from the live systems), then plan again.",
        )


class SecretUnavailable(Exception):
    """A secret's source has no usable value; the message names the source, never a value.

    Raised by the secrets stage's readers and turned into an ``InputError`` naming file and line.
    """
