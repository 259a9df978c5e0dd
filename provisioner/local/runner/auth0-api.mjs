// The `api` object hookctl hands an Auth0 action, per trigger.
//
// Modelled on the Auth0 docs, "Actions Triggers: <trigger> - API Object".
// Every call is recorded (method path and arguments) through `record`; the
// methods that the docs say return the api object do so, so chained calls
// work as they do on Auth0. Nothing here talks to Auth0: metadata, claims,
// denials and redirects are only recorded, for hookctl to report and check.

import crypto from "node:crypto";

const CACHE_DEFAULT_TTL_MS = 15 * 60 * 1000; // Auth0: 15 minutes unless ttl / expires_at is given
const CACHE_MAX_TTL_MS = 24 * 60 * 60 * 1000; // Auth0: cached items live at most 24 hours
const CREDENTIALS_DENY_CODES = new Set(["invalid_scope", "invalid_request", "server_error"]);

export function makeApi(trigger, { record, warn, cacheSeed = {}, executedRules = [], event = {} }) {
  const api = {};
  const method = (path, impl = () => api) => (...args) => {
    record({ t: "api", method: path, args });
    return impl(...args);
  };

  // api.cache: shared by every trigger; scoped to this one execution here.
  const cache = new Map();
  for (const [key, value] of Object.entries(cacheSeed)) {
    cache.set(key, { value: String(value), expires_at: Date.now() + CACHE_DEFAULT_TTL_MS });
  }
  api.cache = {
    get: method("api.cache.get", (key) => {
      const item = cache.get(key);
      if (!item || item.expires_at <= Date.now()) return undefined;
      return { ...item };
    }),
    set: method("api.cache.set", (key, value, options = {}) => {
      if (typeof value !== "string") {
        return { type: "error", code: "INVALID_VALUE" };
      }
      const ttl = options.ttl ?? (options.expires_at ? options.expires_at - Date.now() : CACHE_DEFAULT_TTL_MS);
      cache.set(key, { value, expires_at: Date.now() + Math.min(ttl, CACHE_MAX_TTL_MS) });
      return { type: "success" };
    }),
    delete: method("api.cache.delete", (key) => {
      cache.delete(key);
      return { type: "success" };
    }),
  };

  const user = () => ({
    setAppMetadata: method("api.user.setAppMetadata"),
    setUserMetadata: method("api.user.setUserMetadata"),
  });

  switch (trigger) {
    case "pre-user-registration":
      api.access = { deny: method("api.access.deny") }; // (reason, userMessage)
      api.user = user();
      api.validation = { error: method("api.validation.error") }; // (code, message)
      break;

    case "post-user-registration":
    case "post-change-password":
      // Non-blocking triggers: the event and api.cache only.
      break;

    case "credentials-exchange":
      api.access = {
        deny: method("api.access.deny", (code) => {
          if (!CREDENTIALS_DENY_CODES.has(code)) {
            warn(`api.access.deny: code ${JSON.stringify(code)} is not one of ${[...CREDENTIALS_DENY_CODES].join(", ")}`);
          }
          return api;
        }),
      };
      api.accessToken = { setCustomClaim: method("api.accessToken.setCustomClaim") };
      break;

    case "post-login": {
      let primaryUserSet = false;
      api.access = { deny: method("api.access.deny") }; // (reason)
      api.accessToken = {
        setCustomClaim: method("api.accessToken.setCustomClaim"),
        addScope: method("api.accessToken.addScope"),
        removeScope: method("api.accessToken.removeScope"),
      };
      api.idToken = { setCustomClaim: method("api.idToken.setCustomClaim") };
      api.multifactor = { enable: method("api.multifactor.enable") }; // (provider, options)
      api.user = user();
      api.validation = { error: method("api.validation.error") };
      api.authentication = {
        challengeWith: method("api.authentication.challengeWith", () => undefined),
        challengeWithAny: method("api.authentication.challengeWithAny", () => undefined),
        enrollWith: method("api.authentication.enrollWith", () => undefined),
        enrollWithAny: method("api.authentication.enrollWithAny", () => undefined),
        recordMethod: method("api.authentication.recordMethod"),
        setPrimaryUser: method("api.authentication.setPrimaryUser", () => {
          if (primaryUserSet) {
            throw new Error("api.authentication.setPrimaryUser can only be called once per transaction");
          }
          primaryUserSet = true;
          return undefined;
        }),
      };
      api.redirect = {
        sendUserTo: method("api.redirect.sendUserTo", (url) => {
          new URL(url); // Auth0 refuses a redirect that is not an absolute URL
          return api;
        }),
        encodeToken: method("api.redirect.encodeToken", (options) => encodeToken(options, event)),
        validateToken: method("api.redirect.validateToken", (options) => validateToken(options, event)),
      };
      api.session = { revoke: method("api.session.revoke") };
      api.refreshToken = { revoke: method("api.refreshToken.revoke") };
      api.rules = { wasExecuted: method("api.rules.wasExecuted", (id) => executedRules.includes(id)) };
      // Every setter of the SAML response is recorded; none changes anything here.
      api.samlResponse = new Proxy(
        {},
        {
          get: (_target, name) =>
            typeof name === "string" && name.startsWith("set") ? method(`api.samlResponse.${name}`) : undefined,
        },
      );
      break;
    }

    default:
      warn(`hookctl models only api.cache for the ${trigger} trigger`);
  }
  return api;
}

function b64url(data) {
  return Buffer.from(data).toString("base64url");
}

// api.redirect.encodeToken: an HS256 JWT carrying the payload plus iss / sub / exp / iat, as Auth0 issues.
function encodeToken({ secret, payload = {}, expiresInSeconds = 900 }, event) {
  if (!secret) throw new Error("api.redirect.encodeToken needs a secret");
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    ...payload,
    iss: event?.request?.hostname,
    sub: event?.user?.user_id,
    exp: now + expiresInSeconds,
    iat: now,
  };
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify(claims));
  const signature = crypto.createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${signature}`;
}

// api.redirect.validateToken: checks the token found in the continue request's query (or body).
function validateToken({ secret, tokenParameterName = "session_token" }, event) {
  const token = event?.request?.query?.[tokenParameterName] ?? event?.request?.body?.[tokenParameterName];
  if (typeof token !== "string") throw new Error(`no ${tokenParameterName} in the request`);
  const [head, body, signature] = token.split(".");
  const expected = crypto.createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  if (signature !== expected) throw new Error("the token's signature is invalid");
  const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  if (claims.exp && claims.exp < Date.now() / 1000) throw new Error("the token has expired");
  return claims;
}
