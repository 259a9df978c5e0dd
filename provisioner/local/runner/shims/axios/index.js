"use strict";
// hookctl TEST SHIM — this is NOT axios.
//
// `hookctl invoke` / `hookctl test` load this file for `require("axios")` only
// when the real package is not in hookctl's dependency cache (see
// `--install-deps`) and no --node-modules directory provides it. It covers the
// part of axios' API the shipped templates use — axios(config),
// axios.request/get/delete/head/options/post/put/patch, axios.create, config
// headers / params / timeout / baseURL, JSON bodies, rejecting non-2xx answers
// with an AxiosError that carries `response` — using node:http(s), so a test
// can point an action at hookctl's loopback capture server without
// downloading anything. Every load is reported in the run's output.

const http = require("node:http");
const https = require("node:https");

globalThis.__hookctl?.shim?.("axios");

class AxiosError extends Error {
  constructor(message, code, config, request, response) {
    super(message);
    this.name = "AxiosError";
    this.code = code;
    this.config = config;
    this.request = request;
    this.response = response;
    this.status = response?.status;
    this.isAxiosError = true;
  }
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function send(config) {
  const method = (config.method || "get").toUpperCase();
  const url = new URL(config.url, config.baseURL);
  for (const [key, value] of Object.entries(config.params || {})) {
    url.searchParams.append(key, String(value));
  }
  const headers = { Accept: "application/json, text/plain, */*", ...(config.headers || {}) };
  let body = config.data;
  if (body !== undefined && body !== null && typeof body !== "string" && !Buffer.isBuffer(body)) {
    body = JSON.stringify(body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      headers["Content-Type"] = "application/json";
    }
  }
  if (body !== undefined && body !== null) {
    headers["Content-Length"] = Buffer.byteLength(body);
  }
  const validateStatus = config.validateStatus || ((status) => status >= 200 && status < 300);
  return new Promise((resolve, reject) => {
    const lib = url.protocol === "https:" ? https : http;
    const request = lib.request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const response = {
          data: config.responseType === "text" ? text : parse(text),
          status: res.statusCode,
          statusText: res.statusMessage,
          headers: res.headers,
          config,
          request,
        };
        if (validateStatus(res.statusCode)) {
          resolve(response);
        } else {
          const code = res.statusCode >= 500 ? "ERR_BAD_RESPONSE" : "ERR_BAD_REQUEST";
          reject(new AxiosError(`Request failed with status code ${res.statusCode}`, code, config, request, response));
        }
      });
    });
    if (config.timeout) {
      request.setTimeout(config.timeout, () => {
        request.destroy(new AxiosError(`timeout of ${config.timeout}ms exceeded`, "ECONNABORTED", config, request));
      });
    }
    request.on("error", (error) => {
      reject(error.isAxiosError ? error : Object.assign(new AxiosError(error.message, error.code, config, request), { cause: error }));
    });
    if (body !== undefined && body !== null) request.write(body);
    request.end();
  });
}

function create(defaults = {}) {
  const merge = (config) => ({ ...defaults, ...config, headers: { ...(defaults.headers || {}), ...(config.headers || {}) } });
  const instance = (configOrUrl, config) =>
    typeof configOrUrl === "string" ? send(merge({ ...config, url: configOrUrl })) : send(merge(configOrUrl));
  instance.request = (config) => send(merge(config));
  for (const method of ["get", "delete", "head", "options"]) {
    instance[method] = (url, config = {}) => send(merge({ ...config, method, url }));
  }
  for (const method of ["post", "put", "patch"]) {
    instance[method] = (url, data, config = {}) => send(merge({ ...config, method, url, data }));
  }
  instance.defaults = defaults;
  instance.create = (more = {}) => create({ ...defaults, ...more });
  instance.isAxiosError = (value) => Boolean(value && value.isAxiosError);
  instance.AxiosError = AxiosError;
  return instance;
}

const axios = create();
module.exports = axios;
module.exports.default = axios;
