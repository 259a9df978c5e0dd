// hookctl's Node.js harness: runs one Auth0 action or one Cognito Lambda handler.
//
//   node harness.mjs JOB.json
//
// JOB.json (written by provisioner/local/run.py) names the handler file, the
// export to call, the event, the time limit and RECORDS, a file this harness
// appends one JSON object a line to, synchronously, as things happen:
//
//   {"t":"log","level":"log","text":"..."}       console output of the handler
//   {"t":"api","method":"api.access.deny","args":[...]}   Auth0 api calls
//   {"t":"warn","text":"..."}                    something Auth0 / Lambda would object to
//   {"t":"shim","package":"axios"}               a built-in test shim was loaded
//   {"t":"done","status":"ok|error|timeout","result":...,"error":{...},"duration_ms":12.3}
//   {"t":"exit","code":1}                        the process ended before "done"
//
// Writing as it goes means a handler that kills the process (process.exit, a
// crash, hookctl's own kill at the time limit) still leaves its logs and calls.
// Nothing is written to stdout: that belongs to the handler.

import fs from "node:fs";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import util from "node:util";

import { makeApi } from "./auth0-api.mjs";

const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const out = fs.openSync(job.records, "a");
const realExit = process.exit.bind(process);
let finished = false;

// JSON for anything a handler passes around: cycles, functions, BigInt, undefined and Errors included.
function plain(value, seen = new WeakSet()) {
  if (value === undefined) return null;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "function") return `[Function ${value.name || "anonymous"}]`;
  if (typeof value === "symbol") return value.toString();
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value instanceof URL || value instanceof Date) return value.toJSON();
  if (seen.has(value)) return "[Circular]";
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => plain(item, seen));
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer).toString("base64");
  const result = {};
  for (const [key, item] of Object.entries(value)) {
    result[key] = plain(item, seen);
  }
  return result;
}

function record(entry) {
  const safe = { ...entry };
  if ("args" in safe) safe.args = plain(safe.args);
  fs.writeSync(out, JSON.stringify(safe) + "\n");
}

function describeError(error, phase) {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack ?? "", phase, code: error.code ?? null };
  }
  return { name: typeof error, message: String(error), stack: "", phase, code: null };
}

function finish(entry) {
  if (finished) return;
  finished = true;
  record({ t: "done", ...entry });
  realExit(0);
}

// -- capture what the handler prints -------------------------------------------------------
for (const level of ["log", "info", "warn", "error", "debug", "trace"]) {
  console[level] = (...args) => record({ t: "log", level, text: util.format(...args) });
}
for (const [stream, level] of [
  [process.stdout, "stdout"],
  [process.stderr, "stderr"],
]) {
  stream.write = (chunk, encoding, callback) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    for (const line of text.replace(/\n$/, "").split("\n")) record({ t: "log", level, text: line });
    if (typeof encoding === "function") encoding();
    else if (typeof callback === "function") callback();
    return true;
  };
}

globalThis.__hookctl = {
  shim: (name) => record({ t: "shim", package: name }),
};

// A handler that ends the process ends the run; hookctl reports it.
process.exit = (code) => {
  record({ t: "exit", code: code ?? 0, by: "process.exit" });
  finished = true;
  realExit(code ?? 0);
};
process.on("exit", (code) => {
  if (!finished) record({ t: "exit", code });
});

let settle = null; // set while the handler runs: settle(error, value)
let loopEmpty = null; // what to do when nothing is left to wait for

process.on("uncaughtException", (error) => {
  if (settle) settle(error);
  else finish({ status: "error", error: describeError(error, "run"), duration_ms: 0 });
});
process.on("unhandledRejection", (reason) => {
  if (job.kind === "cognito") {
    // Lambda's Node.js runtime fails the invocation (Runtime.UnhandledPromiseRejection).
    const error = describeError(reason, "run");
    error.name = "Runtime.UnhandledPromiseRejection";
    if (settle) settle(Object.assign(new Error(error.message), { name: error.name, stack: error.stack }));
  } else {
    // Auth0 lets the execution finish; the rejection only shows in the tenant logs.
    record({ t: "log", level: "error", text: `Unhandled promise rejection: ${util.inspect(reason)}` });
    record({ t: "warn", text: "a promise was rejected and never handled (an un-awaited call failed?)" });
  }
});
process.on("beforeExit", () => {
  if (loopEmpty) loopEmpty();
});

// -- load and run --------------------------------------------------------------------------
async function load() {
  const require = createRequire(job.file);
  if (job.file.endsWith(".mjs")) {
    return await import(pathToFileURL(job.file).href);
  }
  return require(job.file);
}

function lambdaContext() {
  const ctx = job.context ?? {};
  const deadline = Date.now() + job.timeout_ms;
  return {
    functionName: ctx.function_name,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${ctx.region}:123456789012:function:${ctx.function_name}`,
    memoryLimitInMB: String(ctx.memory_mb),
    awsRequestId: ctx.request_id,
    logGroupName: `/aws/lambda/${ctx.function_name}`,
    logStreamName: `2025/01/01/[$LATEST]${ctx.request_id?.replaceAll("-", "")}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

function invoke(handler, args, { callbackStyle }) {
  return new Promise((resolve, reject) => {
    let done = false;
    settle = (error, value) => {
      if (done) return;
      done = true;
      settle = null;
      loopEmpty = null;
      if (error !== undefined && error !== null) reject(error);
      else resolve(value);
    };
    // Nothing left to wait for and no answer yet. A callback-style Lambda handler answers null
    // then (callbackWaitsForEmptyEventLoop); a promise that can no longer settle would only time out.
    loopEmpty = () => {
      if (callbackStyle) {
        settle(null, null);
      } else {
        const message = "the handler's promise never settled and nothing is left to wait for (it would time out)";
        settle(Object.assign(new Error(message), { name: "Hookctl.NeverSettled" }));
      }
    };
    const callback = (error, value) => settle(error, value);
    if (callbackStyle) {
      const context = args[1];
      context.done = callback;
      context.succeed = (value) => callback(null, value);
      context.fail = (error) => callback(error ?? new Error("context.fail called"));
    }
    try {
      const returned = handler(...args, ...(callbackStyle ? [callback] : []));
      if (returned && typeof returned.then === "function") {
        returned.then(
          (value) => settle(null, value),
          (error) => settle(error ?? new Error("the handler's promise was rejected with no reason")),
        );
      } else if (!callbackStyle) {
        settle(null, returned);
      }
      // A callback-style handler answers through the callback (or the loop empties).
    } catch (error) {
      settle(error);
    }
  });
}

async function main() {
  let module;
  try {
    module = await load();
  } catch (error) {
    finish({ status: "error", error: describeError(error, "load"), duration_ms: 0 });
    return;
  }
  const handler = module?.[job.export];
  if (typeof handler !== "function") {
    const exported = Object.keys(module ?? {}).filter((k) => k !== "__esModule");
    const error = {
      name: job.kind === "cognito" ? "Runtime.HandlerNotFound" : "HandlerNotFound",
      message: `${job.export} is not a function exported by the handler (it exports: ${exported.join(", ") || "nothing"})`,
      stack: "",
      phase: "load",
      code: null,
    };
    finish({ status: "error", error, duration_ms: 0 });
    return;
  }

  let args;
  let callbackStyle = false;
  const event = job.event;
  if (job.kind === "auth0") {
    event.secrets = Object.freeze({ ...(job.secrets ?? {}) });
    const warn = (text) => record({ t: "warn", text });
    const api = makeApi(job.trigger, { record, warn, cacheSeed: job.cache ?? {}, executedRules: job.executed_rules ?? [], event });
    args = [event, api];
  } else {
    args = [event, lambdaContext()];
    // Lambda passes a callback to handlers that are not async functions.
    callbackStyle = handler.constructor.name !== "AsyncFunction";
  }

  const started = performance.now();
  const timer = setTimeout(() => {
    finish({ status: "timeout", duration_ms: performance.now() - started });
  }, job.timeout_ms);
  timer.unref(); // never keeps the process alive by itself
  try {
    const value = await invoke(handler, args, { callbackStyle });
    const duration = performance.now() - started;
    let result = null;
    if (job.kind === "cognito") {
      try {
        // Lambda answers with JSON.stringify(value); undefined becomes null.
        result = value === undefined ? null : JSON.parse(JSON.stringify(value) ?? "null");
      } catch (error) {
        finish({ status: "error", error: { name: "Runtime.MarshalError", message: `Unable to stringify response body: ${error.message}`, stack: "", phase: "run", code: null }, duration_ms: duration });
        return;
      }
    }
    finish({ status: "ok", result, duration_ms: duration });
  } catch (error) {
    finish({ status: "error", error: describeError(error, "run"), duration_ms: performance.now() - started });
  }
}

await main();
