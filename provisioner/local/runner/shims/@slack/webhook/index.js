"use strict";
// hookctl TEST SHIM — this is NOT @slack/webhook.
//
// `hookctl invoke` / `hookctl test` load this file for
// `require("@slack/webhook")` only when the real package is not in hookctl's
// dependency cache (see `--install-deps`) and no --node-modules directory
// provides it. IncomingWebhook.send() POSTs the message as JSON to the
// webhook URL with node:http(s), like the real client, so a test can point
// SLACK_WEBHOOK_URL at hookctl's loopback capture server without downloading
// anything. Every load is reported in the run's output.

const http = require("node:http");
const https = require("node:https");

globalThis.__hookctl?.shim?.("@slack/webhook");

const ErrorCode = {
  RequestError: "slack_webhook_request_error",
  HTTPError: "slack_webhook_http_error",
};

function withCode(error, code) {
  error.code = code;
  return error;
}

class IncomingWebhook {
  constructor(url, defaults = {}) {
    if (url === undefined) {
      throw new Error("Incoming webhook URL is required");
    }
    this.url = url;
    this.defaults = defaults;
  }

  send(message) {
    const payload = typeof message === "string" ? { ...this.defaults, text: message } : { ...this.defaults, ...message };
    const body = JSON.stringify(payload);
    const url = new URL(this.url);
    const lib = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const request = lib.request(
        url,
        { method: "POST", headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } },
        (res) => {
          const chunks = [];
          res.on("data", (chunk) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode >= 200 && res.statusCode < 300) {
              resolve({ text });
            } else {
              reject(withCode(new Error(`An HTTP protocol error occurred: statusCode = ${res.statusCode}`), ErrorCode.HTTPError));
            }
          });
        },
      );
      request.on("error", (error) =>
        reject(withCode(new Error(`A request error occurred: ${error.message}`), ErrorCode.RequestError)),
      );
      request.end(body);
    });
  }
}

module.exports = { IncomingWebhook, ErrorCode };
