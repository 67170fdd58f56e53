// The public API over fetch(): the key from localStorage, problem+json turned into ApiError.

const KEY_STORAGE = "reelhouse-key";

export function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  localStorage.setItem(KEY_STORAGE, key.trim());
}

export function authHeaders() {
  return { Authorization: `Bearer ${apiKey()}` };
}

/** The API refused: `status`, catalogue `code`, human `message`, field `errors`. */
export class ApiError extends Error {
  constructor({ status, code, message, errors = [], retryAfter = null }) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.errors = errors;
    this.retryAfter = retryAfter;
  }
}

/** The request never got an answer (connection refused or dropped). */
export class NetworkError extends Error {
  constructor(cause) {
    super("The gateway could not be reached; check the connection and try again.");
    this.name = "NetworkError";
    this.code = "network_error";
    this.cause = cause;
  }
}

export async function problemFrom(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return new ApiError({
    status: response.status,
    code: body?.code || `http_${response.status}`,
    message: body?.detail || body?.title || text.slice(0, 200) || response.statusText,
    errors: Array.isArray(body?.errors) ? body.errors : [],
    retryAfter: Number(response.headers.get("Retry-After")) || null,
  });
}

async function request(path, { method = "GET", json, form, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...authHeaders(), ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (form !== undefined) {
    init.body = form; // the browser sets multipart/form-data with its boundary
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new NetworkError(error);
  }
  if (!response.ok) throw await problemFrom(response);
  if (response.status === 204) return null;
  return response.json();
}

export const listModels = () => request("/v1/models").then((page) => page.data ?? page);

export function listGenerations({ status, model, limit = 20, cursor } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (status) query.set("status", status);
  if (model) query.set("model", model);
  if (cursor) query.set("cursor", cursor);
  return request(`/v1/generations?${query}`);
}

export const getGeneration = (id) => request(`/v1/generations/${encodeURIComponent(id)}`);

export const submitGeneration = (body, idempotencyKey) =>
  request("/v1/generations", {
    method: "POST",
    json: body,
    headers: { "Idempotency-Key": idempotencyKey },
  });

export const retryGeneration = (id) =>
  request(`/v1/generations/${encodeURIComponent(id)}/retry`, { method: "POST" });

export const cancelGeneration = (id) =>
  request(`/v1/generations/${encodeURIComponent(id)}/cancel`, { method: "POST" });

export function listCompositions({ limit = 10, cursor } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  return request(`/v1/compositions?${query}`);
}

export const getComposition = (id) => request(`/v1/compositions/${encodeURIComponent(id)}`);

export const submitComposition = (body, idempotencyKey) =>
  request("/v1/compositions", {
    method: "POST",
    json: body,
    headers: { "Idempotency-Key": idempotencyKey },
  });

export const retryComposition = (id) =>
  request(`/v1/compositions/${encodeURIComponent(id)}/retry`, { method: "POST" });

export const cancelComposition = (id) =>
  request(`/v1/compositions/${encodeURIComponent(id)}/cancel`, { method: "POST" });

export const compositionEventsPath = (id) => `/v1/compositions/${encodeURIComponent(id)}/events`;

export function uploadFile(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return request("/v1/uploads", { method: "POST", form });
}

export function usage(params) {
  return request(`/v1/usage?${new URLSearchParams(params)}`);
}

/** A random UUID (v4); crypto.randomUUID needs a secure context, getRandomValues does not. */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
