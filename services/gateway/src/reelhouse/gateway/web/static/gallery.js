// The gallery: pages of GET /v1/generations (filters, infinite scroll over next_cursor),
// kept current by the owner's event stream: no polling. A job is fetched once when it
// reaches a final state (for its outputs and cost), and once when an unknown job shows up.

import * as api from "./api.js";
import { Card, FINAL, isAhead } from "./card.js";
import { $, announce, showProblem } from "./dom.js";

const PAGE_SIZE = 20;

export class Gallery {
  /** player.open(job); waitForSubmits(): settles once this page's own submit/retry is shown. */
  constructor({ player, waitForSubmits }) {
    this.player = player;
    this.waitForSubmits = waitForSubmits;
    this.list = $("cards");
    this.errorBox = $("gallery-error");
    this.cards = new Map();
    this.others = new Map(); // jobs seen on the stream that the filters hide: id -> job
    this.discovering = new Map(); // id -> event data buffered while the job is fetched
    this.retrying = Promise.resolve();
    this.filters = { status: "", model: "" };
    this.epoch = 0; // bumped on every reset: answers for an older list are dropped
    this.cursor = null;
    this.done = false;
    this.loading = false;
    this.sentinel = $("sentinel");
    this.observer = new IntersectionObserver(
      (entries) => { if (entries.some((e) => e.isIntersecting)) this.loadMore(); },
      { rootMargin: "0px 0px 400px 0px" },
    );
    this.observer.observe(this.sentinel);
    $("load-more").addEventListener("click", () => this.loadMore());
    for (const name of ["status", "model"]) {
      $(`filter-${name}`).addEventListener("change", (event) => {
        this.filters[name] = event.target.value;
        this.reset();
      });
    }
  }

  setModels(models) {
    const select = $("filter-model");
    const chosen = select.value;
    select.replaceChildren(new Option("any", ""), ...models.map((m) => new Option(m.id, m.id)));
    select.value = models.some((m) => m.id === chosen) ? chosen : "";
    this.filters.model = select.value;
  }

  matches(job) {
    const { status, model } = this.filters;
    return (!status || job.status === status) && (!model || job.model === model);
  }

  reset() {
    this.epoch += 1;
    this.cards.clear();
    this.others.clear();
    this.list.replaceChildren();
    delete this.list.dataset.loaded; // set again once the first page is shown
    this.cursor = null;
    this.done = false;
    this.loading = false;
    showProblem(this.errorBox, null);
    this.loadMore();
  }

  async loadMore() {
    if (this.loading || this.done || !api.apiKey()) return;
    const epoch = this.epoch;
    this.loading = true;
    this.list.setAttribute("aria-busy", "true");
    let ok = false;
    try {
      const page = await api.listGenerations({ ...this.filters, limit: PAGE_SIZE, cursor: this.cursor });
      if (epoch !== this.epoch) return;
      for (const job of page.data) this.place(job, { append: true });
      this.cursor = page.next_cursor;
      this.done = !page.next_cursor;
      this.list.dataset.loaded = "true";
      ok = true;
      showProblem(this.errorBox, null);
    } catch (error) {
      if (epoch === this.epoch) showProblem(this.errorBox, error);
    } finally {
      if (epoch === this.epoch) {
        this.loading = false;
        this.list.removeAttribute("aria-busy");
        this.showEnd(ok);
      }
    }
  }

  showEnd(ok) {
    $("load-more").hidden = this.done;
    $("list-end").hidden = !this.done || this.cards.size === 0;
    if (ok && !this.done) {
      // observing again reports whether the sentinel is still in view: then load the next page
      this.observer.unobserve(this.sentinel);
      this.observer.observe(this.sentinel);
    }
  }

  /** Show a job: update its card, or add one (appended for a list page, else by creation time). */
  place(job, { append = false } = {}) {
    const known = this.cards.get(job.id);
    if (known) {
      known.update(job);
      return known;
    }
    const card = new Card(job, {
      onPlay: (c) => this.player.open(c.job),
      onRetry: (c) => this.retry(c),
      onCancel: (c) => this.cancel(c),
    });
    this.cards.set(job.id, card);
    this.others.delete(job.id);
    if (append) {
      this.list.append(card.el);
    } else {
      const created = Date.parse(job.created_at);
      const older = [...this.list.children].find(
        (el) => Date.parse(this.cards.get(el.dataset.jobId)?.job.created_at) < created,
      );
      this.list.insertBefore(card.el, older ?? null);
    }
    $("list-end").hidden = !this.done;
    return card;
  }

  /** A job made here (a submit or a retry): shown at once, whatever the filters. */
  added(job) {
    this.place(job);
  }

  onEvent({ data }) {
    const id = data?.job_id;
    if (!id) return;
    const card = this.cards.get(id);
    if (card) {
      this.apply(card, data);
    } else if (this.discovering.has(id)) {
      this.discovering.get(id).push(data);
    } else if (this.others.has(id)) {
      this.follow(id, data);
    } else {
      this.discover(id, data);
    }
  }

  apply(card, data) {
    const before = card.job.status;
    card.applyEvent(data);
    const now = card.job.status;
    if (now !== before) announce(`${card.job.model}: ${now}`);
    if (FINAL.has(now) && !card.finalFetched) {
      card.finalFetched = true; // once: outputs, error and cost of the final state
      api.getGeneration(card.job.id).then(
        (job) => card.update(job),
        (error) => card.showProblem(error),
      );
    }
  }

  /** A job the filters hid: track its status from events; show it once it matches. */
  follow(id, data) {
    const job = this.others.get(id);
    if (isAhead(data.status, job.status)) job.status = data.status;
    if (this.matches(job)) this.discover(id, data);
  }

  /** An event of a job this page does not show (made elsewhere, or just now): fetch it once. */
  async discover(id, first) {
    const buffered = [first];
    this.discovering.set(id, buffered);
    const epoch = this.epoch;
    try {
      await this.waitForSubmits(); // this page's own new job gets its card from the answer
      let card = this.cards.get(id);
      if (!card) {
        const job = await api.getGeneration(id);
        if (epoch !== this.epoch) return;
        card = this.cards.get(id);
        if (!card) {
          if (!this.matches(job)) {
            this.others.set(id, job);
            return;
          }
          card = this.place(job);
          announce(`New generation: ${job.model}, ${job.status}`);
        }
      }
      for (const data of buffered) this.apply(card, data);
    } catch (error) {
      showProblem(this.errorBox, error);
    } finally {
      this.discovering.delete(id);
    }
  }

  retry(card) {
    let settle;
    this.retrying = new Promise((resolve) => { settle = resolve; });
    card.retry.disabled = true;
    card.showProblem(null);
    api.retryGeneration(card.job.id).then(
      (job) => {
        card.update({ ...card.job, retried_by: job.id });
        this.added(job);
        announce(`Retry started: ${job.model}, ${job.status}`);
        settle();
      },
      (error) => {
        card.showProblem(error);
        settle();
      },
    ).finally(() => { card.retry.disabled = false; });
  }

  cancel(card) {
    card.cancel.disabled = true;
    card.showProblem(null);
    api.cancelGeneration(card.job.id).then(
      (job) => card.update(job),
      (error) => card.showProblem(error),
    ).finally(() => { card.cancel.disabled = false; });
  }
}
