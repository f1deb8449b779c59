// The public JSON-RPC API, as any client uses it: POST /rpc with the session token as a bearer
// token. The token lives in sessionStorage (this tab only), never in a URL or localStorage.

const TOKEN_KEY = "movr.session";
let nextId = 1;
let city = null;
const listeners = new Set();

/** An error answered by the API (or a transport failure, code 0). */
export class ApiError extends Error {
  constructor(code, message, data = {}) {
    super(message);
    this.code = code;
    this.reason = data.reason || null;
    this.field = data.field || null;
    this.retryable = Boolean(data.retryable);
    this.requestId = data.request_id || null;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set(token) { sessionStorage.setItem(TOKEN_KEY, token); },
  clear() { sessionStorage.removeItem(TOKEN_KEY); },
};

/** The city sent as X-City, so city-scoped calls go to that city's region. */
export function setCity(name) { city = name; }

/** Called after every attempt with {method, ok, region, gateway, ms, serverMs, error}. */
export function onCall(listener) { listeners.add(listener); }

const expiryListeners = new Set();
/** Called when the server refuses the session token (expired or revoked elsewhere). */
export function onSessionExpired(listener) { expiryListeners.add(listener); }

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `method`. Errors the API marks retryable (429, 503, 504) are retried with exponential
 * backoff and jitter; so are network failures of calls that are safe to repeat (`safe`: reads,
 * and writes carrying an idempotency key).
 */
export async function rpc(method, params = {}, { safe = false, locate = false, retries = 4 } = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await once(method, params, locate);
    } catch (error) {
      const transient = error.retryable || (error.code === 0 && safe);
      if (!transient || attempt >= retries) throw error;
      await sleep(Math.min(4000, 250 * 2 ** attempt) * (0.5 + Math.random()));
    }
  }
}

async function once(method, params, locate) {
  const headers = { "Content-Type": "application/json" };
  const token = session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  // Without X-City the gateway locates the caller itself (its own headers, the user's city).
  if (city && !locate) headers["X-City"] = city;
  const started = performance.now();
  const report = { method, ok: false, region: null, gateway: null, ms: 0, serverMs: null, error: null };
  try {
    let reply;
    try {
      reply = await fetch("/rpc", {
        method: "POST", headers, cache: "no-store", credentials: "omit",
        body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
      });
    } catch (failure) {
      throw new ApiError(0, "The gateway cannot be reached; check your connection.", { retryable: false });
    }
    report.region = reply.headers.get("X-MovR-Region");
    report.gateway = reply.headers.get("X-MovR-Gateway-Region");
    const timing = /dur=([0-9.]+)/.exec(reply.headers.get("Server-Timing") || "");
    report.serverMs = timing ? Number(timing[1]) : null;
    let body;
    try {
      body = await reply.json();
    } catch (failure) {
      throw new ApiError(0, `The gateway answered HTTP ${reply.status}.`, { retryable: reply.status >= 500 });
    }
    if (body.error) {
      const error = new ApiError(body.error.code, body.error.message, body.error.data || {});
      // A session the server no longer knows is dropped here too.
      if (token && (error.reason === "invalid_token" || error.reason === "token_expired")) {
        session.clear();
        for (const listener of expiryListeners) listener();
      }
      throw error;
    }
    report.ok = true;
    return body.result;
  } catch (error) {
    report.error = error.message;
    throw error;
  } finally {
    report.ms = performance.now() - started;
    for (const listener of listeners) listener(report);
  }
}

/** A fresh idempotency key: retries of one action reuse it, a new action gets another. */
export function newKey() {
  return crypto.randomUUID();
}
