"""hookctl's Python harness: runs one Cognito Lambda handler written in Python.
Local runs: started by run.py as its own process, one handler per process.

    python harness.py JOB.json

The Python twin of ``harness.mjs`` (same job file, same records). It runs in
its own process, so a handler's ``sys.exit``, ``os._exit``, crash or endless
loop cannot take hookctl down. Standard output and error become log records;
nothing else is printed. This file is run as a script, never imported by
hookctl.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import signal
import sys
import time
import traceback
from typing import Any

HARNESS = os.path.abspath(__file__)


class _Timeout(BaseException):
    """Raised by the alarm at the time limit (a BaseException, so `except Exception` cannot swallow it)."""


class _Records:
    def __init__(self, path: str) -> None:
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the whole run

    def write(self, entry: dict[str, Any]) -> None:
        self._fh.write(json.dumps(entry, default=repr) + "\n")
        self._fh.flush()


class _LineWriter(io.TextIOBase):
    """A stdout / stderr replacement that turns each printed line into a log record."""

    def __init__(self, records: _Records, level: str) -> None:
        self._records = records
        self._level = level
        self._buffer = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            self._records.write({"t": "log", "level": self._level, "text": line})
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            self._records.write({"t": "log", "level": self._level, "text": self._buffer})
            self._buffer = ""


class LambdaContext:
    """The attributes and method of the Lambda Python runtime's context object."""

    def __init__(self, job: dict[str, Any], deadline: float) -> None:
        ctx = job.get("context") or {}
        name = str(ctx.get("function_name", "function"))
        region = str(ctx.get("region", "us-east-1"))
        request_id = str(ctx.get("request_id", ""))
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{name}"
        self.memory_limit_in_mb = int(ctx.get("memory_mb", 128))
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = f"2025/01/01/[$LATEST]{request_id.replace('-', '')}"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(exc: BaseException, phase: str) -> dict[str, Any]:
    frames = [
        line
        for line in traceback.format_exception(type(exc), exc, exc.__traceback__)
        if HARNESS not in line and "importlib._bootstrap" not in line
    ]
    return {
        "name": type(exc).__name__,
        "message": str(exc),
        "stack": "".join(frames),
        "phase": phase,
        "code": None,
    }


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        job = json.load(fh)
    records = _Records(job["records"])
    real_stdout, real_stderr = sys.stdout, sys.stderr
    sys.stdout = _LineWriter(records, "stdout")
    sys.stderr = _LineWriter(records, "stderr")

    def finish(entry: dict[str, Any]) -> None:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = real_stdout, real_stderr
        records.write({"t": "done", **entry})
        os._exit(0)  # no atexit hooks or lingering threads of the handler

    workdir = os.path.dirname(os.path.abspath(job["file"]))
    for path in reversed([workdir, *job.get("python_path", [])]):
        sys.path.insert(0, path)
    module_name = os.path.splitext(os.path.relpath(job["file"], workdir))[0].replace(os.sep, ".")

    def on_alarm(signum: int, frame: Any) -> None:
        raise _Timeout()

    signal.signal(signal.SIGALRM, on_alarm)
    timeout_s = job["timeout_ms"] / 1000
    deadline = time.monotonic() + timeout_s
    started = time.perf_counter()
    phase = "load"
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        module = importlib.import_module(module_name)
        handler = getattr(module, job["export"], None)
        if not callable(handler):
            exported = sorted(n for n in vars(module) if not n.startswith("_") and callable(getattr(module, n)))
            raise _HandlerNotFound(
                f"{job['export']} is not a function of {module_name} (it defines: {', '.join(exported) or 'nothing'})"
            )
        phase = "run"
        started = time.perf_counter()
        value = handler(job["event"], LambdaContext(job, deadline))
        signal.setitimer(signal.ITIMER_REAL, 0)
        duration = (time.perf_counter() - started) * 1000
        try:
            # Lambda answers with json.dumps(value): what cannot be serialised fails the invocation.
            result = json.loads(json.dumps(value))
        except (TypeError, ValueError) as exc:
            error: dict[str, Any] = {
                "name": "Runtime.MarshalError",
                "message": f"Unable to marshal response: {exc}",
                "stack": "",
                "phase": "run",
                "code": None,
            }
            finish({"status": "error", "error": error, "duration_ms": duration})
        finish({"status": "ok", "result": result, "duration_ms": duration})
    except _Timeout:
        finish({"status": "timeout", "duration_ms": (time.perf_counter() - started) * 1000})
    except SystemExit as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        exit_error: dict[str, Any] = {
            "name": "SystemExit",
            "message": f"the handler called sys.exit({exc.code!r})",
            "stack": _error(exc, phase)["stack"],
            "phase": phase,
            "code": None,
        }
        finish({"status": "error", "error": exit_error, "duration_ms": (time.perf_counter() - started) * 1000})
    except _HandlerNotFound as exc:
        missing: dict[str, Any] = {
            "name": "Runtime.HandlerNotFound",
            "message": str(exc),
            "stack": "",
            "phase": "load",
            "code": None,
        }
        finish({"status": "error", "error": missing, "duration_ms": 0})
    except BaseException as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        finish({"status": "error", "error": _error(exc, phase), "duration_ms": (time.perf_counter() - started) * 1000})


class _HandlerNotFound(Exception):
    pass


if __name__ == "__main__":
    main()
