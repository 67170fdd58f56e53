// The compositions: cards built once and updated in place, each following its composition's
// own event stream (GET /v1/compositions/{id}/events) until a final status. A page holds few
// connections to one origin: past MAX_STREAMS the others are read now and then instead (bounded).

import * as api from "./api.js";
import { costText } from "./card.js";
import { $, announce, h, showProblem } from "./dom.js";
import { EventStream } from "./sse.js";

const FINAL = new Set(["succeeded", "failed", "canceled"]);
const PAGE_SIZE = 10;
const MAX_STREAMS = 3; // with the owner's /v1/events: well under a browser's 6 per origin
const POLL_FIRST_MS = 2000;
const POLL_MAX_MS = 15_000;
const POLL_LIMIT = 240; // reads of one composition before the page stops asking (~1 h)
const STATUS_TEXT = {
  generating: "Generating the scenes",
  assembling: "Joining the scenes into one film",
  succeeded: "Done",
  failed: "Failed",
  canceled: "Canceled",
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const time = (iso) => new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

const scenesText = (n) => `Composition of ${n} scene${n === 1 ? "" : "s"}`;

const isRetryable = (c) =>
  c.status === "failed" || c.status === "canceled" || (c.status === "succeeded" && c.missing_scenes.length > 0);

function describeFilm(output) {
  const size = output.width && output.height ? ` · ${output.width}×${output.height}` : "";
  return `${output.duration ? `${output.duration.toFixed(1)} s` : "Film"}${size}`;
}

export class CompositionCard {
  constructor(composition, { prompts = [], onPlay, onRetry, onCancel }) {
    this.composition = composition;
    this.prompts = prompts; // known for one made on this page: the scene rows' prompts
    this.follower = null;
    const titleId = `title-${composition.id}`;
    const button = (label, onclick, extra = {}) =>
      h("button", { type: "button", "aria-describedby": titleId, onclick, ...extra }, label);
    this.thumb = h("div", { class: "thumb" });
    this.badge = h("span", { class: "badge" });
    this.stage = h("p", { class: "stage" });
    this.summary = h("p", { class: "summary", "data-testid": "composition-progress" });
    this.progress = h("progress", { "aria-labelledby": titleId });
    this.chips = h("ol", { class: "chips", "aria-label": "Scenes" });
    this.audio = h("p", { class: "chip-line", hidden: true });
    this.error = h("p", { class: "job-error", hidden: true });
    this.missing = h("p", { class: "hint", hidden: true });
    this.cost = h("span", { class: "cost" });
    this.play = button("Play", () => onPlay(this));
    this.retry = button("Retry", () => onRetry(this), { "data-testid": "composition-retry" });
    this.cancel = button("Cancel", () => onCancel(this), { "data-testid": "composition-cancel" });
    this.problem = h("div", { class: "problem", role: "alert", hidden: true });
    this.onPlay = onPlay;
    this.el = h(
      "li",
      { class: "card composition", "data-testid": "composition-card", "aria-labelledby": titleId },
      this.thumb,
      h(
        "div",
        { class: "body" },
        h(
          "div",
          { class: "head" },
          this.badge,
          h("span", { class: "model", id: titleId }, scenesText(composition.scenes.length)),
        ),
        this.stage,
        this.summary,
        this.progress,
        this.chips,
        this.audio,
        this.error,
        this.missing,
        h("p", { class: "meta" }, h("time", { datetime: composition.created_at }, time(composition.created_at)), " · ", this.cost),
        h("div", { class: "actions" }, this.play, this.retry, this.cancel),
        this.problem,
      ),
    );
    this.thumbKey = null;
    this.render();
  }

  get final() {
    return FINAL.has(this.composition.status);
  }

  /** A whole composition (GET, list, stream, cancel or retry answer); an older one is dropped. */
  update(composition) {
    if (Date.parse(composition.updated_at) < Date.parse(this.composition.updated_at)) return;
    const before = this.composition.status;
    this.composition = composition;
    this.render();
    if (before !== composition.status) announce(`Composition: ${composition.status}, ${composition.progress.summary}`);
  }

  showProblem(error) {
    showProblem(this.problem, error);
  }

  render() {
    const c = this.composition;
    this.el.dataset.compositionId = c.id;
    this.el.dataset.status = c.status;
    this.badge.textContent = c.status;
    this.badge.dataset.status = c.status;
    const canceling = c.cancel_requested && !this.final ? " · cancel requested" : "";
    const output = c.status === "succeeded" ? c.outputs[0] : null;
    this.stage.textContent = output ? describeFilm(output) : `${STATUS_TEXT[c.status] ?? c.status}${canceling}`;
    this.summary.textContent = c.progress.summary;
    this.progress.max = c.progress.scenes_total || 1;
    this.progress.value = c.progress.scenes_done;
    this.chips.replaceChildren(...c.scenes.map((scene) => this.chip(scene)));

    const audio = c.audio?.part;
    this.audio.hidden = !c.audio;
    if (c.audio) {
      this.audio.replaceChildren(
        audio ? this.chipBody("Score", audio, null) : h("span", { class: "chip", "data-status": "succeeded" }, "Score · uploaded track"),
      );
    }

    const error = c.status === "failed" ? c.error : null;
    this.error.hidden = !error;
    if (error) {
      const where = error.scene !== null && error.scene !== undefined ? ` (scene ${error.scene + 1})` : "";
      this.error.replaceChildren(h("code", { class: "code" }, error.code), " ", error.message + where);
    }
    const missing = c.missing_scenes.map((i) => i + 1);
    const notes = [];
    if (missing.length) notes.push(`Assembled without scene${missing.length > 1 ? "s" : ""} ${missing.join(", ")}.`);
    if (c.missing_audio) notes.push("The score failed: the film has no track.");
    this.missing.hidden = notes.length === 0;
    this.missing.textContent = notes.join(" ");

    const cost = costText(c.cost);
    this.cost.textContent = cost.text;
    this.cost.title = cost.title;
    this.play.hidden = !output;
    this.retry.hidden = !isRetryable(c);
    this.cancel.hidden = c.status !== "generating" || c.cancel_requested;
    this.renderThumb(output);
  }

  chip(scene) {
    const prompt = this.prompts[scene.index];
    return h("li", { "data-testid": "scene-chip", "data-index": scene.index }, this.chipBody(`Scene ${scene.index + 1}`, scene, prompt));
  }

  chipBody(label, part, prompt) {
    const retried = part.retries?.length ? ` · retry ${part.retries.length}` : "";
    return [
      h("span", { class: "chip", "data-status": part.status, title: part.model }, `${label} · ${part.status}${retried}`),
      prompt ? h("span", { class: "chip-prompt" }, ` ${prompt}`) : null,
      part.error
        ? h("span", { class: "job-error chip-error" }, " ", h("code", { class: "code" }, part.error.code), " ", part.error.message)
        : null,
    ];
  }

  renderThumb(output) {
    const key = output ? output.url : `status:${this.composition.status}`;
    if (key === this.thumbKey) return;
    this.thumbKey = key;
    if (output?.poster_url) {
      this.thumb.replaceChildren(
        h("img", { src: output.poster_url, alt: "", loading: "lazy", decoding: "async", onclick: () => this.onPlay(this) }),
        h("span", { class: "play-mark", "aria-hidden": "true" }, "▶"),
      );
    } else {
      this.thumb.replaceChildren(h("span", { class: "placeholder", "aria-hidden": "true" }));
    }
    this.thumb.dataset.status = this.composition.status;
  }

  /** What the player shows: the film as a job's output. */
  asJob() {
    const c = this.composition;
    return { id: c.id, model: "composition", input: { prompt: scenesText(c.scenes.length) }, outputs: c.outputs };
  }
}

export class Compositions {
  constructor({ player }) {
    this.player = player;
    this.list = $("composition-cards");
    this.errorBox = $("compositions-error");
    this.more = $("compositions-more");
    this.cards = new Map();
    this.streams = 0;
    this.cursor = null;
    this.epoch = 0;
    this.more.addEventListener("click", () => this.loadMore());
  }

  reset() {
    this.epoch += 1;
    for (const card of this.cards.values()) card.follower?.stop();
    this.cards.clear();
    this.list.replaceChildren();
    delete this.list.dataset.loaded;
    this.cursor = null;
    showProblem(this.errorBox, null);
    this.loadMore();
  }

  async loadMore() {
    const epoch = this.epoch;
    this.more.disabled = true;
    try {
      const page = await api.listCompositions({ limit: PAGE_SIZE, cursor: this.cursor });
      if (epoch !== this.epoch) return;
      for (const composition of page.data) this.place(composition, [], { append: true });
      this.cursor = page.next_cursor;
      this.more.hidden = !page.next_cursor;
      this.list.dataset.loaded = "true";
      showProblem(this.errorBox, null);
    } catch (error) {
      // a gateway without compositions: nothing to list
      if (epoch === this.epoch && error.status !== 404) showProblem(this.errorBox, error);
    } finally {
      this.more.disabled = false;
    }
  }

  /** One made on this page: at the top, followed live. */
  added(composition, prompts) {
    const card = this.place(composition, prompts);
    card.el.scrollIntoView?.({ block: "nearest" });
  }

  place(composition, prompts, { append = false } = {}) {
    let card = this.cards.get(composition.id);
    if (card) {
      card.update(composition);
    } else {
      card = new CompositionCard(composition, {
        prompts,
        onPlay: (c) => this.player.open(c.asJob()),
        onRetry: (c) => this.retry(c),
        onCancel: (c) => this.cancel(c),
      });
      this.cards.set(composition.id, card);
      if (append) this.list.append(card.el);
      else this.list.prepend(card.el);
    }
    this.follow(card);
    return card;
  }

  /** Keep a card current until its composition is final: its stream, or reads when none is free. */
  follow(card) {
    if (card.final || card.follower) return;
    if (this.streams < MAX_STREAMS) this.stream(card);
    else this.poll(card);
  }

  stream(card) {
    this.streams += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.streams -= 1;
      if (card.follower === follower) card.follower = null;
    };
    const stream = new EventStream(api.compositionEventsPath(card.composition.id), {
      onEvent: ({ type, data }) => {
        if (type !== "composition" || data?.id !== card.composition.id) return;
        card.update(data);
        // the server closes after a final status: stop before the stream would reconnect
        if (card.final) follower.stop();
      },
      onState: (state, problem) => {
        if (problem) card.showProblem(problem);
        if (state === "stopped") release();
      },
    });
    const follower = { stop: () => stream.stop(), kind: "stream" };
    card.follower = follower;
    stream.start();
  }

  async poll(card) {
    let stopped = false;
    const follower = { stop: () => { stopped = true; }, kind: "poll" };
    card.follower = follower;
    let delay = POLL_FIRST_MS;
    try {
      for (let reads = 0; reads < POLL_LIMIT && !stopped; reads++) {
        await sleep(delay);
        if (stopped) return;
        if (this.streams < MAX_STREAMS) {
          card.follower = null; // a stream is free again: live from now on
          this.stream(card);
          return;
        }
        try {
          card.update(await api.getComposition(card.composition.id));
          card.showProblem(null);
          delay = POLL_FIRST_MS;
        } catch (error) {
          card.showProblem(error);
          delay = Math.min(delay * 2, POLL_MAX_MS);
        }
        if (card.final) return;
      }
    } finally {
      if (card.follower === follower) card.follower = null;
    }
  }

  retry(card) {
    card.retry.disabled = true;
    card.showProblem(null);
    api.retryComposition(card.composition.id).then(
      (composition) => {
        card.update(composition);
        this.follow(card);
        announce(`Retry started: ${composition.progress.summary}`);
      },
      (error) => card.showProblem(error),
    ).finally(() => { card.retry.disabled = false; });
  }

  cancel(card) {
    card.cancel.disabled = true;
    card.showProblem(null);
    api.cancelComposition(card.composition.id).then(
      (composition) => card.update(composition),
      (error) => card.showProblem(error),
    ).finally(() => { card.cancel.disabled = false; });
  }
}
