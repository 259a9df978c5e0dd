"""Local run: one prepared ``Invocation`` → what the handler did.
Local runs: hookctl invoke, and each case of hookctl test (the harness invocation).

Input: an ``Invocation`` from ``invocation.prepare`` (a stack entry rendered
like ``render`` does, with its event, secrets and time limit). Output: a
``RunResult`` — the status, the returned value, the error, every Auth0 ``api``
call, every line the handler logged, the time it took and what hookctl
noticed on the way (warnings, test shims).

I/O: a temporary work directory and one subprocess per run — ``node`` with
``runner/harness.mjs`` for Auth0 actions and Node.js functions, this
interpreter with ``runner/harness.py`` for Python functions — so a handler's
``process.exit``, ``sys.exit``, crash or endless loop never takes hookctl
down, and the trigger's time limit is enforced from the outside too. npm (or
pip) runs only with ``install_deps``, to fill the dependency cache once per
dependency set (``deps``). Each harness runs in namespaces of its own where
the machine allows it (``isolation``). No secret sources are read:
``event.secrets`` and a function's secret environment variables come from
test values only.

Faithfulness notes: Auth0 ends a flow after 20 s; Cognito waits at most 5 s
for a synchronous trigger (the custom sender triggers are asynchronous, so the
function's own timeout applies); Cognito fails a request whose function
returns nothing ("Unrecognizable lambda output"); Lambda's Node.js runtime
passes a callback to non-async handlers and returns ``null`` when the event
loop empties without an answer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .deps import DependencyCache
from .invocation import COGNITO_ASYNC_TRIGGERS, Invocation, RunError
from .isolation import credentials_in, isolation
from .runner import NODE_HARNESS, PYTHON_HARNESS, SHIMS_DIR

# Auth0 triggers whose actions never block the flow: a failure only reaches the tenant logs.
AUTH0_NON_BLOCKING = frozenset({"post-user-registration", "post-change-password"})
KILL_GRACE_S = 3.0  # beyond the time limit, before hookctl kills a handler that ignores its own timer
LOG_TAIL = 20


# -- what a run produced ------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCall:
    method: str  # "api.access.deny"
    args: tuple[Any, ...]

    def describe(self) -> str:
        return f"{self.method}({', '.join(_short_json(a) for a in self.args)})"


@dataclass(frozen=True)
class LogLine:
    level: str  # log, info, warn, error, debug, trace, stdout, stderr
    text: str


@dataclass(frozen=True)
class HandlerError:
    name: str
    message: str
    stack: str = ""
    phase: str = "run"  # "load": importing the handler failed; "run": the handler failed

    def headline(self) -> str:
        return f"{self.name}: {self.message}" if self.message else self.name


@dataclass
class RunResult:
    """Everything one run of a handler produced."""

    address: str
    kind: str  # "auth0" | "cognito"
    trigger: str  # Auth0 trigger id, or Cognito LambdaConfig key
    trigger_source: str | None  # Cognito only
    status: str  # "ok" | "error" | "timeout" | "crashed"
    timeout_ms: int
    duration_ms: float = 0.0
    result: Any = None  # Cognito: the value the handler returned
    error: HandlerError | None = None
    api_calls: list[ApiCall] = field(default_factory=list)
    logs: list[LogLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the machine, not the case: runtime stand-ins
    shims: list[str] = field(default_factory=list)
    source_file: str = ""  # the handler's file name in the work directory (for messages)
    location: str | None = None  # "index.mjs:12: throw new Error(MESSAGE);" when an error points into the handler

    # -- Auth0 outcomes, derived from the recorded api calls ------------------------------
    def calls(self, method: str) -> list[ApiCall]:
        return [c for c in self.api_calls if c.method == method]

    @property
    def denial(self) -> dict[str, Any] | None:
        """The last ``api.access.deny``, its arguments named as the trigger's docs name them."""
        found = self.calls("api.access.deny")
        if not found:
            return None
        args = [*found[-1].args, None, None]
        if self.trigger == "credentials-exchange":
            return {"code": args[0], "reason": args[1]}
        if self.trigger == "pre-user-registration":
            return {"reason": args[0], "message": args[1]}
        return {"reason": args[0]}

    @property
    def validation_error(self) -> dict[str, Any] | None:
        found = self.calls("api.validation.error")
        if not found:
            return None
        args = [*found[-1].args, None, None]
        return {"code": args[0], "message": args[1]}

    def claims(self, token: str) -> dict[str, Any]:
        """Custom claims set on the ``id`` or ``access`` token, in call order."""
        method = "api.idToken.setCustomClaim" if token == "id" else "api.accessToken.setCustomClaim"
        return {str(c.args[0]): (c.args[1] if len(c.args) > 1 else None) for c in self.calls(method) if c.args}

    def metadata(self, which: str) -> dict[str, Any]:
        """``user`` or ``app`` metadata set through ``api.user``."""
        method = "api.user.setUserMetadata" if which == "user" else "api.user.setAppMetadata"
        return {str(c.args[0]): (c.args[1] if len(c.args) > 1 else None) for c in self.calls(method) if c.args}

    @property
    def mfa(self) -> dict[str, Any] | None:
        found = self.calls("api.multifactor.enable")
        if not found:
            return None
        args = [*found[-1].args, None, None]
        return {"provider": args[0], "options": args[1] or {}}

    @property
    def redirect(self) -> dict[str, Any] | None:
        found = self.calls("api.redirect.sendUserTo")
        if not found:
            return None
        args = [*found[-1].args, None, None]
        options = args[1] if isinstance(args[1], dict) else {}
        return {"url": args[0], "query": options.get("query") or {}}

    @property
    def outcome(self) -> str:
        if self.status != "ok":
            return self.status
        if self.denial is not None:
            return "denied"
        if self.validation_error is not None:
            return "rejected"
        return "ok"

    @property
    def client_message(self) -> str | None:
        """What Cognito tells the client when the function fails (UserLambdaValidationException)."""
        if self.kind != "cognito" or self.error is None or self.status != "error":
            return None
        return f"{self.trigger} failed with error {self.error.message}."

    def log_text(self) -> str:
        return "\n".join(line.text for line in self.logs)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "address": self.address,
            "kind": self.kind,
            "trigger": self.trigger,
            "status": self.status,
            "outcome": self.outcome,
            "duration_ms": round(self.duration_ms, 3),
            "timeout_ms": self.timeout_ms,
            "logs": [{"level": line.level, "text": line.text} for line in self.logs],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "shims": list(self.shims),
            "error": dataclasses.asdict(self.error) if self.error else None,
            "location": self.location,
        }
        if self.kind == "cognito":
            document["trigger_source"] = self.trigger_source
            document["result"] = self.result
            document["client_message"] = self.client_message
        else:
            document["api_calls"] = [{"method": c.method, "args": list(c.args)} for c in self.api_calls]
            document["denied"] = self.denial
            document["blocking"] = self.trigger not in AUTH0_NON_BLOCKING
        return document


# -- running --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def node_version(node: str = "node") -> tuple[int, ...] | None:
    """The local Node.js version, or None when there is no usable ``node``."""
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"v(\d+)\.(\d+)\.(\d+)", out.stdout.strip())
    return tuple(int(g) for g in match.groups()) if match else None


def runtime_major(runtime: str) -> int | None:
    """``node22`` → 22, ``nodejs20.x`` → 20, ``python3.13`` → None."""
    match = re.match(r"node(?:js)?(\d+)", runtime)
    return int(match.group(1)) if match else None


class Runner:
    """Runs invocations, each in its own subprocess and temporary work directory."""

    def __init__(
        self,
        *,
        node_modules: str | None = None,
        cache: DependencyCache | None = None,
        install_deps: bool = False,
        node: str = "node",
        python: str = sys.executable,
        kill_grace_s: float = KILL_GRACE_S,
    ) -> None:
        self.node_modules = os.path.abspath(node_modules) if node_modules else None
        if self.node_modules and not os.path.isdir(self.node_modules):
            raise RunError(f"--node-modules {node_modules}: no such directory")
        self.cache = cache or DependencyCache(DependencyCache.default_root())
        self.install_deps = install_deps
        self.node = node
        self.python = python
        self.kill_grace_s = kill_grace_s

    # Version checks: the machine's interpreter stands in for the platform's runtime.
    def _runtime_warnings(self, inv: Invocation) -> list[str]:
        if inv.language == "py":
            wanted = inv.runtime.removeprefix("python")
            here = ".".join(str(p) for p in sys.version_info[:2])
            return [] if wanted == here else [f"Python {here} stands in for the {inv.runtime} runtime"]
        version = node_version(self.node)
        if version is None:
            raise RunError(
                f"cannot run {inv.address}: no `{self.node}` (Node.js) found",
                hint="Install Node.js 18 or later and put `node` on PATH.",
            )
        if version[0] < 18:
            raise RunError(
                f"cannot run {inv.address}: Node.js {'.'.join(map(str, version))} is too old for {inv.runtime}",
                hint="Install Node.js 18 or later.",
            )
        major = runtime_major(inv.runtime)
        if major is not None and major != version[0]:
            return [f"Node.js {'.'.join(map(str, version))} stands in for the {inv.runtime} runtime"]
        return []

    def run(self, inv: Invocation) -> RunResult:
        notes = self._runtime_warnings(inv)
        warnings = list(inv.warnings)
        isolated = isolation()
        if not isolated.available:
            held = credentials_in(os.environ)
            notes.append(
                f"handlers run without isolation ({isolated.why}): they can read the environment of "
                "hookctl and its parent processes through /proc"
                + (f", which holds {', '.join(held)}; run `hookctl test` where no credentials are set" if held else "")
            )
        with tempfile.TemporaryDirectory(prefix="hookctl-run-") as work:
            handler_path = os.path.join(work, inv.filename)
            os.makedirs(os.path.dirname(handler_path), exist_ok=True)
            with open(handler_path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(inv.source)
            python_path: list[str] = []
            if inv.language == "js":
                # No "type": a .js handler is CommonJS, as on Auth0 and in a Lambda zip without package.json.
                with open(os.path.join(work, "package.json"), "w", encoding="utf-8") as fh:
                    fh.write('{"private": true}\n')
                warnings += self._link_node_modules(inv, os.path.join(work, "node_modules"))
            elif inv.dependencies:
                found = self._dependencies(inv)
                if found:
                    python_path.append(found)
                else:
                    warnings.append(
                        f"dependencies not installed ({', '.join(n for n, _ in inv.dependencies)}); "
                        "run with --install-deps"
                    )
            records = os.path.join(work, "records.jsonl")
            job = {
                "kind": inv.kind,
                "file": handler_path,
                "export": inv.export,
                "trigger": inv.trigger,
                "event": inv.event,
                "secrets": dict(inv.secrets),
                "cache": dict(inv.cache_seed),
                "timeout_ms": inv.timeout_ms,
                "records": records,
                "python_path": python_path,
                "context": {
                    "function_name": inv.name,
                    "memory_mb": inv.memory_mb,
                    "region": inv.region,
                    "request_id": str(uuid.uuid4()),
                },
            }
            job_path = os.path.join(work, "job.json")
            with open(job_path, "w", encoding="utf-8") as fh:
                json.dump(job, fh)
            open(records, "w").close()
            if inv.language == "py":
                command = [self.python, "-X", "utf8", PYTHON_HARNESS, job_path]
            else:
                command = [self.node, NODE_HARNESS, job_path]
            command = [*isolated.prefix, *(["--"] if isolated.prefix else []), *command]
            exit_code, killed, stderr = self._spawn(command, work, self._environment(inv, work), inv.timeout_ms)
            result = _read_records(inv, records, exit_code, killed, stderr, work)
        result.warnings = list(dict.fromkeys([*warnings, *result.warnings]))
        result.notes = notes
        if result.error is not None:
            result.location = source_line(inv.source, f"{result.error.stack}\n{result.error.message}", inv.filename)
        if inv.kind == "cognito" and result.status == "ok":
            _check_cognito_answer(inv, result)
        return result

    def _dependencies(self, inv: Invocation) -> str | None:
        if self.install_deps:
            return self.cache.install(inv.address, inv.language, inv.dependencies, inv.lock_file) or None
        return self.cache.find(inv.language, inv.dependencies, inv.lock_file)

    def _link_node_modules(self, inv: Invocation, target: str) -> list[str]:
        """node_modules for the run: the override directory, else the cache, else a test shim.

        Auth0 only resolves an action's declared dependencies, so cached and
        shimmed packages are linked only when declared; everything in the
        --node-modules directory is linked (it stands in for whatever the test
        needs, the AWS SDK bundled in the Lambda runtime included).
        """
        warnings: list[str] = []
        links: dict[str, str] = {}
        installed = self._dependencies(inv) if inv.dependencies else None
        for name, _version in inv.dependencies:
            if installed and os.path.isdir(os.path.join(installed, "node_modules", name)):
                links[name] = os.path.join(installed, "node_modules", name)
            elif os.path.isdir(os.path.join(SHIMS_DIR, name)):
                links[name] = os.path.join(SHIMS_DIR, name)
            else:
                links[name] = ""
        if self.node_modules:
            links.update({name: os.path.join(self.node_modules, name) for name in _packages_in(self.node_modules)})
        missing = sorted(name for name, path in links.items() if not path)
        if missing:
            warnings.append(
                f"not installed: {', '.join(missing)}; run with --install-deps (or give --node-modules DIR)"
            )
        for name, path in links.items():
            if path:
                link = os.path.join(target, name)
                os.makedirs(os.path.dirname(link), exist_ok=True)
                os.symlink(path, link, target_is_directory=True)
        return warnings

    def _environment(self, inv: Invocation, work: str) -> dict[str, str]:
        """A clean environment: nothing of hookctl's own (no credentials, no NODE_OPTIONS)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": work,
            "TMPDIR": work,
            "TZ": "UTC",
            "LANG": "C.UTF-8",
        }
        if inv.kind == "cognito":
            handler_module = inv.filename.rsplit(".", 1)[0]
            env.update(
                {
                    "AWS_REGION": inv.region,
                    "AWS_DEFAULT_REGION": inv.region,
                    "AWS_LAMBDA_FUNCTION_NAME": inv.name,
                    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(inv.memory_mb),
                    "AWS_EXECUTION_ENV": f"AWS_Lambda_{inv.runtime}",
                    "LAMBDA_TASK_ROOT": work,
                    "_HANDLER": f"{handler_module}.{inv.export}",
                }
            )
            env.update({str(k): str(v) for k, v in inv.environment.items()})
        if inv.language == "py":
            env.update({"PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8", "PYTHONNOUSERSITE": "1"})
        return env

    def _spawn(
        self, command: list[str], cwd: str, env: dict[str, str], timeout_ms: int
    ) -> tuple[int | None, bool, str]:
        """Run the harness; kill its whole process group if it outlives the limit plus the grace."""
        try:
            proc = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise RunError(f"cannot start `{command[0]}`: {exc.strerror}") from None
        try:
            _out, err = proc.communicate(timeout=timeout_ms / 1000 + self.kill_grace_s)
            return proc.returncode, False, err.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            _out, err = proc.communicate()
            return proc.returncode, True, err.decode("utf-8", "replace")


def _packages_in(root: str) -> list[str]:
    names: list[str] = []
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry)
        if entry.startswith(".") or not os.path.isdir(path):
            continue
        if entry.startswith("@"):
            names += [f"{entry}/{sub}" for sub in sorted(os.listdir(path)) if os.path.isdir(os.path.join(path, sub))]
        else:
            names.append(entry)
    return names


def _read_records(inv: Invocation, path: str, exit_code: int | None, killed: bool, stderr: str, work: str) -> RunResult:
    result = RunResult(
        inv.address, inv.kind, inv.trigger, inv.trigger_source, "crashed", inv.timeout_ms, source_file=inv.filename
    )
    done: dict[str, Any] | None = None
    exit_record: dict[str, Any] | None = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            try:
                entry = json.loads(raw)
            except ValueError:
                continue  # a line cut short by a kill
            kind = entry.get("t")
            if kind == "log":
                result.logs.append(LogLine(str(entry.get("level", "log")), _clean(str(entry.get("text", "")), work)))
            elif kind == "api":
                result.api_calls.append(ApiCall(str(entry.get("method")), tuple(entry.get("args") or ())))
            elif kind == "warn":
                result.warnings.append(str(entry.get("text")))
            elif kind == "shim":
                result.shims.append(str(entry.get("package")))
            elif kind == "done":
                done = entry
            elif kind == "exit":
                exit_record = entry
    if done is not None:
        result.status = str(done.get("status"))
        result.duration_ms = float(done.get("duration_ms") or 0.0)
        result.result = done.get("result")
        if done.get("error"):
            raw_error = done["error"]
            result.error = HandlerError(
                name=str(raw_error.get("name") or "Error"),
                message=_clean(str(raw_error.get("message") or ""), work),
                stack=_clean_stack(str(raw_error.get("stack") or ""), work),
                phase=str(raw_error.get("phase") or "run"),
            )
    elif killed:
        result.status = "timeout"
        result.duration_ms = float(inv.timeout_ms)
        result.warnings.append("the handler ignored its time limit; hookctl killed it")
    else:
        result.status = "crashed"
        code = exit_record.get("code") if exit_record else exit_code
        if exit_record and exit_record.get("by") == "process.exit":
            message = f"the handler called process.exit({code}) before returning"
        else:
            message = f"the handler's process ended (exit code {code}) before the handler returned"
        tail = "\n".join(_clean(stderr, work).strip().splitlines()[-LOG_TAIL:])
        result.error = HandlerError("ProcessExited", message, tail, "run")
    if result.status == "timeout" and result.error is None:
        result.error = HandlerError("Timeout", f"timed out after {inv.timeout_ms} ms (the trigger's time limit)")
    result.shims = list(dict.fromkeys(result.shims))
    return result


def _check_cognito_answer(inv: Invocation, result: RunResult) -> None:
    """What Cognito itself would refuse in the function's answer."""
    if inv.trigger in COGNITO_ASYNC_TRIGGERS:
        return
    if result.result is None:
        result.status = "error"
        result.error = HandlerError(
            "InvalidLambdaResponseException",
            "Unrecognizable lambda output: the handler returned nothing; Cognito expects the event back",
        )
        return
    if inv.trigger == "PreSignUp" and inv.trigger_source != "PreSignUp_AdminCreateUser":
        response = result.result.get("response") if isinstance(result.result, dict) else None
        request = inv.event.get("request")
        attributes = request.get("userAttributes") if isinstance(request, Mapping) else None
        attributes = attributes if isinstance(attributes, Mapping) else {}
        if isinstance(response, dict):
            for flag, attribute in (("autoVerifyEmail", "email"), ("autoVerifyPhone", "phone_number")):
                if response.get(flag) is True and not attributes.get(attribute):
                    result.status = "error"
                    result.error = HandlerError(
                        "InvalidLambdaResponseException",
                        f"{flag} is true but the user has no {attribute}: Cognito fails the sign-up",
                    )
                    return


def _clean(text: str, work: str) -> str:
    """Work-directory paths become bare file names, so messages read ``index.mjs:12``."""
    text = text.replace("file://" + work + "/", "").replace(work + os.sep, "")
    return text.replace(os.path.realpath(work) + os.sep, "")


def _clean_stack(stack: str, work: str) -> str:
    """Drop the harness's own frames and node's internals: only the handler's lines matter."""
    noise = ("provisioner/runner/", "node:internal", "(node:", "at new Promise (<anonymous>)")
    lines = [line for line in _clean(stack, work).splitlines() if not any(n in line for n in noise)]
    return "\n".join(lines)


def _short_json(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- text output ----------------------------------------------------------------------------


def source_line(source: str, stack: str, filename: str) -> str | None:
    """The handler's source line a stack trace points at (``index.mjs:12``), for error messages."""
    # Node.js names the innermost frame first ("index.mjs:12:5"); Python last ('File "x.py", line 12').
    python_frames = re.findall(r'File "' + re.escape(filename) + r'", line (\d+)', stack)
    match = re.search(re.escape(filename) + r":(\d+)", stack)
    if python_frames:
        number = int(python_frames[-1])
    elif match:
        number = int(match.group(1))
    else:
        return None
    lines = source.splitlines()
    if 1 <= number <= len(lines):
        return f"{filename}:{number}: {lines[number - 1].strip()}"
    return None


def describe(result: RunResult) -> str:
    """A human summary of a run: outcome, calls or answer, logs, warnings."""
    where = result.trigger_source or result.trigger
    lines = [f"{result.address} ({where}): {result.outcome} in {result.duration_ms:.0f} ms"]
    if result.error:
        lines.append(f"  error: {result.error.headline()}")
        if result.error.phase == "load":
            lines.append("    (while loading the handler)")
        if result.location:
            lines.append(f"    at {result.location}")
        for line in result.error.stack.splitlines()[:8]:
            if line.strip() and line.strip() != result.error.headline():
                lines.append(f"    {line.strip()}")
        if result.client_message:
            lines.append(f"  Cognito answers the client: {result.client_message}")
        if result.kind == "auth0" and result.trigger in AUTH0_NON_BLOCKING:
            lines.append(f"  ({result.trigger} does not block: the user is unaffected; Auth0 logs the failure)")
    if result.kind == "auth0":
        if result.api_calls:
            lines.append("  api calls:")
            lines += [f"    {call.describe()}" for call in result.api_calls]
        else:
            lines.append("  api calls: none")
    elif result.status == "ok":
        lines.append(
            "  response: "
            + json.dumps(
                result.result.get("response")
                if isinstance(result.result, dict) and "response" in result.result
                else result.result,
                ensure_ascii=False,
                sort_keys=True,
            )
        )
    if result.logs:
        lines.append("  logs:")
        lines += ["    " + line.text.replace("\n", "\n    ") for line in result.logs]
    for shim in result.shims:
        lines.append(f"  note: used hookctl's test shim for {shim} (not the real package; --install-deps for it)")
    for warning in result.warnings:
        lines.append(f"  warning: {warning}")
    for note in result.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
