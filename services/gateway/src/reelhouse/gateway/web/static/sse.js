// Server-sent events over fetch(): EventSource cannot send an Authorization header.
// Parses text/event-stream (WHATWG HTML "Server-sent events"), resumes with Last-Event-ID
// after a drop, backs off (doubling, capped, with jitter) while the gateway is away.

import { authHeaders, problemFrom } from "./api.js";

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
// the gateway sends a keep-alive every 15 s of silence: much longer means a dead connection
const SILENCE_LIMIT_MS = 45_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class EventStream {
  /**
   * onEvent({id, type, data}) for each event (data parsed as JSON);
   * onState("connecting" | "open" | "reconnecting" | "stopped", error?);
   * onResync() when the stream could not resume where it left off (events may be missed).
   */
  constructor(url, { onEvent, onState = () => {}, onResync = () => {} }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onResync = onResync;
    this.lastEventId = null;
    this.retryMs = FIRST_DELAY_MS;
    this.controller = null;
    this.session = null; // one token per start(): a stopped loop never outlives its session
    this.waiters = [];
  }

  /** Settles when the stream is open (or after timeoutMs, whichever comes first). */
  opened(timeoutMs) {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      setTimeout(resolve, timeoutMs);
    });
  }

  state(name, problem) {
    if (name === "open" || name === "stopped") {
      for (const resolve of this.waiters.splice(0)) resolve();
    }
    this.onState(name, problem);
  }

  get running() {
    return this.session !== null;
  }

  start() {
    if (this.running) return;
    const session = {};
    this.session = session;
    this.run(session);
  }

  stop() {
    this.session = null;
    this.controller?.abort();
    this.lastEventId = null;
    this.state("stopped");
  }

  async run(session) {
    let delay = FIRST_DELAY_MS;
    const live = () => this.session === session;
    while (live()) {
      this.state(this.lastEventId ? "reconnecting" : "connecting");
      try {
        const response = await this.connect();
        if (response.ok && response.body) {
          this.state("open");
          await this.read(response.body);
          delay = this.retryMs; // it was open: the server's retry: hint, then doubling
        } else {
          const problem = await problemFrom(response);
          if (problem.code === "unknown_last_event_id") {
            this.lastEventId = null; // start afresh and let the page reload what it shows
            this.onResync();
            continue;
          }
          if (response.status === 401 || response.status === 403) {
            this.session = null;
            this.state("stopped", problem);
            return;
          }
          if (problem.retryAfter) delay = Math.max(delay, problem.retryAfter * 1000);
        }
      } catch (error) {
        if (!live()) return; // stopped on purpose (abort)
        console.warn("sse: the stream dropped; reconnecting", error);
      }
      if (!live()) return;
      this.state("reconnecting");
      await sleep(delay * (0.75 + Math.random() * 0.5));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }

  connect() {
    this.controller = new AbortController();
    const headers = { Accept: "text/event-stream", ...authHeaders() };
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    return fetch(this.url, { headers, cache: "no-store", signal: this.controller.signal });
  }

  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    const controller = this.controller;
    let silence = setTimeout(() => controller.abort(), SILENCE_LIMIT_MS);
    let buffer = "";
    let event = { id: null, type: "message", data: [] };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        clearTimeout(silence);
        silence = setTimeout(() => controller.abort(), SILENCE_LIMIT_MS);
        buffer += value;
        // a chunk may end between "\r" and "\n": keep a trailing "\r" for the next one
        const carry = buffer.endsWith("\r") ? "\r" : "";
        const lines = (carry ? buffer.slice(0, -1) : buffer).split(/\r\n|\r|\n/);
        buffer = lines.pop() + carry;
        for (const line of lines) event = this.line(line, event);
      }
    } finally {
      clearTimeout(silence);
    }
  }

  /** One line of the stream; returns the event being built (a fresh one after a dispatch). */
  line(line, event) {
    if (line === "") {
      if (event.id !== null) this.lastEventId = event.id;
      if (event.data.length) this.dispatch(event);
      return { id: null, type: "message", data: [] };
    }
    if (line.startsWith(":")) return event; // a comment: keep-alive
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") event.data.push(value);
    else if (field === "event") event.type = value;
    else if (field === "id" && !value.includes("\0")) event.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Math.max(Number(value), 250);
    return event;
  }

  dispatch(event) {
    let data;
    try {
      data = JSON.parse(event.data.join("\n"));
    } catch (error) {
      console.warn("sse: an event whose data is not JSON", event.type, error);
      return;
    }
    this.onEvent({ id: event.id, type: event.type, data });
  }
}
