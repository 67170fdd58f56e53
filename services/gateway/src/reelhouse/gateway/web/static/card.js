// One job's card in the gallery: built once, then updated in place (focus survives updates).

import { h, showProblem } from "./dom.js";

export const FINAL = new Set(["succeeded", "failed", "canceled"]);
// the job state machine only moves forward: a late event never moves a card back
const RANK = { queued: 0, submitted: 1, running: 2, downloading: 3, succeeded: 4, failed: 4, canceled: 4 };

export const isAhead = (status, than) => (RANK[status] ?? -1) >= (RANK[than] ?? -1);

function money(usd) {
  return `$${usd.toFixed(usd > 0 && usd < 0.01 ? 3 : 2)}`;
}

/** "$0.03" actual, "~$0.03" estimated, "—" unknown (null, never shown as free). */
export function costText(cost) {
  if (cost?.actual_usd !== null && cost?.actual_usd !== undefined) {
    return { text: money(cost.actual_usd), title: "Actual cost" };
  }
  if (cost?.estimate_usd !== null && cost?.estimate_usd !== undefined) {
    return { text: `~${money(cost.estimate_usd)}`, title: "Estimated cost" };
  }
  return { text: "—", title: "Cost unknown" };
}

const lastLine = (logs) => (logs || "").trim().split(/\r?\n/).pop() || "";

function describeOutput(output) {
  if (!output) return "Done";
  const size = output.width && output.height ? `${output.width}×${output.height}` : "";
  if (output.kind === "video" && output.duration) return `${output.duration.toFixed(1)} s · ${size}`;
  if (output.kind === "audio" && output.duration) return `${output.duration.toFixed(1)} s · audio`;
  return size || output.content_type;
}

function stageText(job, live) {
  const canceling = job.cancel_requested && !FINAL.has(job.status) ? " · cancel requested" : "";
  switch (job.status) {
    case "queued":
      return `Waiting for a provider${canceling}`;
    case "submitted":
      if (live.queue_position !== null && live.queue_position !== undefined) {
        return `In the provider's queue: position ${live.queue_position}${canceling}`;
      }
      return `Submitted${live.provider ? ` to ${live.provider}` : ""}${live.provider_status ? ` · ${live.provider_status}` : ""}${canceling}`;
    case "running":
      return `Rendering${live.percent !== null && live.percent !== undefined ? ` · ${Math.round(live.percent)}%` : ""}${canceling}`;
    case "downloading":
      return "Copying the result to storage";
    case "succeeded":
      return describeOutput(job.outputs?.[0]);
    case "failed":
      return `Failed${job.error?.stage ? ` at ${job.error.stage}` : ""}`;
    default:
      return "Canceled";
  }
}

const time = (iso) =>
  new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

export class Card {
  constructor(job, { onPlay, onRetry, onCancel }) {
    this.job = job;
    this.live = {}; // from events: stage, provider, provider_status, queue_position, percent, logs
    this.finalFetched = FINAL.has(job.status);
    const titleId = `title-${job.id}`;
    this.thumb = h("div", { class: "thumb" });
    this.badge = h("span", { class: "badge" });
    this.stage = h("p", { class: "stage" });
    this.progress = h("progress", { max: 100, "aria-label": "Progress", hidden: true });
    this.log = h("p", { class: "log", hidden: true });
    this.error = h("p", { class: "job-error", hidden: true });
    this.cost = h("span", { class: "cost" });
    this.simulated = h("span", { class: "simulated", hidden: true, title: "A nominal price of the simulated provider" }, "simulated");
    this.retried = h("p", { class: "hint", hidden: true });
    this.problem = h("div", { class: "problem", role: "alert", hidden: true });
    // the card's buttons are described by its prompt ("Play" of which job?)
    const promptId = `prompt-${job.id}`;
    const button = (label, onclick, extra = {}) =>
      h("button", { type: "button", "aria-describedby": promptId, onclick, ...extra }, label);
    this.play = button("Play", () => onPlay(this));
    this.retry = button("Retry", () => onRetry(this), { "data-testid": "retry" });
    this.cancel = button("Cancel", () => onCancel(this));
    this.onPlay = onPlay;
    this.el = h(
      "li",
      { class: "card", "data-testid": "job-card", "aria-labelledby": titleId },
      this.thumb,
      h(
        "div",
        { class: "body" },
        h("div", { class: "head" }, this.badge, h("span", { class: "model", id: titleId }, job.model)),
        h("p", { class: "prompt", id: promptId, title: job.input?.prompt || "" }, job.input?.prompt || h("em", {}, "no prompt")),
        this.stage,
        this.progress,
        this.log,
        this.error,
        this.retried,
        h("p", { class: "meta" }, h("time", { datetime: job.created_at }, time(job.created_at)), " · ", this.cost, this.simulated),
        h("div", { class: "actions" }, this.play, this.retry, this.cancel),
        this.problem,
      ),
    );
    this.thumbKey = null;
    this.render();
  }

  /** A fresh representation from the API (a GET, a list page, a retry or cancel answer). */
  update(job) {
    if (!isAhead(job.status, this.job.status)) return;
    this.job = job;
    this.render();
  }

  /** One SSE event's data: the status after it, and progress fields. */
  applyEvent(data) {
    if (isAhead(data.status, this.job.status)) this.job = { ...this.job, status: data.status };
    this.live.stage = (data.type || "").replace(/^reelhouse\.generation\./, "").replace(/\.v\d+$/, "");
    for (const name of ["provider", "provider_status", "queue_position", "percent", "logs"]) {
      if (name in data) this.live[name] = data[name];
    }
    if (data.error && !this.job.error) this.job = { ...this.job, error: data.error };
    this.render();
  }

  showProblem(error) {
    showProblem(this.problem, error);
  }

  render() {
    const { job, live } = this;
    const el = this.el;
    el.dataset.jobId = job.id;
    el.dataset.status = job.status;
    if (live.stage) el.dataset.stage = live.stage;
    this.badge.textContent = job.status;
    this.badge.dataset.status = job.status;
    this.stage.textContent = stageText(job, live);

    const running = !FINAL.has(job.status);
    const percent = live.percent;
    this.progress.hidden = !(running && percent !== null && percent !== undefined);
    if (!this.progress.hidden) this.progress.value = percent;
    const line = running ? lastLine(live.logs) : "";
    this.log.hidden = !line;
    this.log.textContent = line;

    const error = job.status === "failed" ? job.error : null;
    this.error.hidden = !error;
    if (error) this.error.replaceChildren(h("code", { class: "code" }, error.code), " ", error.message);

    const cost = costText(job.cost);
    this.cost.textContent = cost.text;
    this.cost.title = cost.title;
    this.simulated.hidden = !job.cost?.simulated;

    this.retried.hidden = !job.retried_by;
    this.retried.textContent = job.retried_by ? `Retried as ${job.retried_by}` : "";
    this.retry.hidden = !(job.status === "failed" || job.status === "canceled") || Boolean(job.retried_by);
    this.cancel.hidden = !running || job.cancel_requested;
    const output = job.status === "succeeded" ? job.outputs?.[0] : null;
    this.play.hidden = !output;
    this.play.textContent = output?.kind === "image" ? "View" : "Play";
    this.renderThumb(output);
  }

  renderThumb(output) {
    const key = output ? output.url : `status:${this.job.status}`;
    if (key === this.thumbKey) return;
    this.thumbKey = key;
    const picture = output ? output.poster_url || (output.kind === "image" ? output.url : null) : null;
    if (picture) {
      // decorative: the Play button beside it is the labelled control
      this.thumb.replaceChildren(
        h("img", { src: picture, alt: "", loading: "lazy", decoding: "async", onclick: () => this.onPlay(this) }),
        output.kind === "video" ? h("span", { class: "play-mark", "aria-hidden": "true" }, "▶") : null,
      );
    } else {
      this.thumb.replaceChildren(h("span", { class: "placeholder", "aria-hidden": "true" }));
    }
    this.thumb.dataset.status = this.job.status;
  }
}
