// The composition form: an ordered list of scenes (each a video model, a prompt, an image for
// image-to-video, a length), a score, the transition, the policy and the output size.

import * as api from "./api.js";
import { $, announce, h, showProblem } from "./dom.js";
import { uploadField } from "./form.js";

const MAX_SCENES = 20;
const isVideoModel = (model) => model.kind.endsWith("-to-video");
const isAudioModel = (model) => /audio|music/.test(model.kind);
// the image a model starts from: its one image-like URI input (`image`, `start_image`, …)
const imageInput = (model) =>
  Object.entries(model.input_schema?.properties ?? {}).find(
    ([name, schema]) => schema.format === "uri" && /image/i.test(name),
  )?.[0];

let rowCount = 0; // ids of a row's controls: unique for the page's life

/** One scene row: built for the chosen model, rebuilt when the model changes. */
class SceneRow {
  constructor(form, models, chosen) {
    this.form = form;
    this.uid = ++rowCount;
    this.select = h("select", { id: `scene-${this.uid}-model`, "data-testid": "scene-model", required: true });
    this.select.append(...models.map((m) => new Option(`${m.id} (${m.kind})`, m.id)));
    if (chosen) this.select.value = chosen;
    this.select.addEventListener("change", () => this.renderModel());
    this.prompt = h("textarea", {
      id: `scene-${this.uid}-prompt`,
      "data-testid": "scene-prompt",
      rows: 2,
      placeholder: "a slow pan over a sunlit living room",
    });
    this.duration = h("input", {
      id: `scene-${this.uid}-duration`,
      "data-testid": "scene-duration",
      type: "number",
      inputmode: "numeric",
      step: 1,
      placeholder: "model's",
    });
    this.title = h("h3", { class: "scene-title" });
    this.up = h("button", { type: "button", onclick: () => form.move(this, -1) }, "↑");
    this.down = h("button", { type: "button", onclick: () => form.move(this, 1) }, "↓");
    this.remove = h("button", { type: "button", onclick: () => form.removeRow(this) }, "Remove");
    this.imageSlot = h("div", { class: "scene-image" });
    this.durationField = h(
      "div",
      { class: "field narrow" },
      h("label", { for: this.duration.id }, "Seconds (optional)"),
      this.duration,
    );
    this.el = h(
      "li",
      { class: "scene-row", "data-testid": "scene-row" },
      h("div", { class: "scene-head" }, this.title, h("span", { class: "scene-buttons" }, this.up, this.down, this.remove)),
      h("div", { class: "field" }, h("label", { for: this.select.id }, "Model"), this.select),
      h("div", { class: "field" }, h("label", { for: this.prompt.id }, "Prompt"), this.prompt),
      this.imageSlot,
      this.durationField,
    );
    this.image = null;
    this.renderModel();
  }

  get model() {
    return this.form.models.get(this.select.value);
  }

  /** Numbered from 1 as a person counts; the buttons say which scene they act on. */
  number(n, total) {
    this.title.textContent = `Scene ${n}`;
    this.up.setAttribute("aria-label", `Move scene ${n} up`);
    this.down.setAttribute("aria-label", `Move scene ${n} down`);
    this.remove.setAttribute("aria-label", `Remove scene ${n}`);
    this.up.disabled = n === 1;
    this.down.disabled = n === total;
    this.remove.disabled = total === 1;
  }

  renderModel() {
    const model = this.model;
    const schema = model?.input_schema ?? {};
    const required = new Set(schema.required ?? []);
    const properties = schema.properties ?? {};
    this.prompt.required = required.has("prompt");
    const name = model && imageInput(model);
    this.image = name
      ? { name, field: uploadField(name, properties[name], required.has(name), { id: `scene-${this.uid}-${name}`, testid: "scene-upload" }) }
      : null;
    this.imageSlot.replaceChildren(this.image ? this.image.field.element : "");
    const duration = properties.duration;
    this.durationField.hidden = !duration;
    if (duration) {
      const values = duration.enum;
      this.duration.min = values ? Math.min(...values) : (duration.minimum ?? 1);
      this.duration.max = values ? Math.max(...values) : (duration.maximum ?? 600);
      this.duration.placeholder = duration.default !== undefined ? String(duration.default) : "model's";
    }
  }

  async read() {
    const model = this.model;
    const input = {};
    if (this.prompt.value.trim()) input.prompt = this.prompt.value;
    if (this.image) {
      const reference = await this.image.field.read();
      if (reference !== undefined) input[this.image.name] = reference;
    }
    const scene = { model: model.id, input };
    if (!this.durationField.hidden && this.duration.value !== "") scene.duration = Number(this.duration.value);
    return scene;
  }

  invalid(flag) {
    if (flag) this.el.dataset.invalid = "true";
    else delete this.el.dataset.invalid;
  }
}

export class CompositionForm {
  constructor({ onSubmitted }) {
    this.onSubmitted = onSubmitted;
    this.form = $("compose");
    this.list = $("scene-rows");
    this.button = $("compose-submit");
    this.errorBox = $("compose-error");
    this.models = new Map();
    this.audioModels = [];
    this.rows = [];
    this.pending = null; // {fingerprint, key}: as the generation form, never two compositions
    $("add-scene").addEventListener("click", () => this.addRow(undefined, { focus: true }));
    $("score-kind").addEventListener("change", () => this.renderOptions());
    $("transition").addEventListener("change", () => this.renderOptions());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  setModels(models) {
    const available = models.filter((m) => m.available !== false);
    const videos = available.filter(isVideoModel);
    this.models = new Map(videos.map((m) => [m.id, m]));
    this.audioModels = available.filter(isAudioModel);
    const score = $("score-model");
    score.replaceChildren(...this.audioModels.map((m) => new Option(m.id, m.id)));
    // no audio model in the catalogue: no generated score to offer
    $("score-generated-option").hidden = this.audioModels.length === 0;
    $("score-generated-option").disabled = this.audioModels.length === 0;
    if (!this.audioModels.length) $("score-kind").value = "none";
    const kept = this.rows.map((row) => row.select.value);
    this.rows = [];
    this.list.replaceChildren();
    // a text-to-video model first: the simplest scene
    const first = videos.find((m) => m.kind === "text-to-video")?.id ?? videos[0]?.id;
    for (const chosen of kept.length ? kept : [first, first]) this.addRow(this.models.has(chosen) ? chosen : first);
    this.renderOptions();
    this.button.disabled = videos.length === 0;
  }

  /** A row for `chosen` (by default the last row's model); `focus` moves to its prompt. */
  addRow(chosen, { focus = false } = {}) {
    if (this.rows.length >= MAX_SCENES) return;
    const model = chosen ?? this.rows.at(-1)?.select.value;
    const row = new SceneRow(this, [...this.models.values()], model);
    this.rows.push(row);
    this.list.append(row.el);
    this.renumber();
    if (focus) row.prompt.focus();
  }

  removeRow(row) {
    if (this.rows.length === 1) return;
    const at = this.rows.indexOf(row);
    this.rows.splice(at, 1);
    row.el.remove();
    this.renumber();
    this.rows[Math.min(at, this.rows.length - 1)].prompt.focus();
    announce(`Scene ${at + 1} removed.`);
  }

  move(row, step) {
    const at = this.rows.indexOf(row);
    const to = at + step;
    if (to < 0 || to >= this.rows.length) return;
    [this.rows[at], this.rows[to]] = [this.rows[to], this.rows[at]];
    this.list.replaceChildren(...this.rows.map((r) => r.el));
    this.renumber();
    (step < 0 ? row.up : row.down).focus();
    announce(`Now scene ${to + 1}.`);
  }

  renumber() {
    this.rows.forEach((row, i) => row.number(i + 1, this.rows.length));
    $("add-scene").disabled = this.rows.length >= MAX_SCENES;
  }

  renderOptions() {
    $("score-generated").hidden = $("score-kind").value !== "generated";
    $("score-prompt").required = $("score-kind").value === "generated";
    $("crossfade-field").hidden = $("transition").value !== "crossfade";
  }

  async body() {
    const scenes = [];
    for (const row of this.rows) scenes.push(await row.read());
    const body = { scenes, policy: $("policy").value };
    if ($("score-kind").value === "generated") {
      body.audio = { model: $("score-model").value, prompt: $("score-prompt").value };
    }
    const transition = $("transition").value;
    body.transition =
      transition === "crossfade"
        ? { type: "crossfade", seconds: Number($("crossfade-seconds").value || 0.5) }
        : { type: "cut" };
    for (const name of ["width", "height", "fps"]) {
      const value = $(`output-${name}`).value;
      if (value !== "") body[name] = Number(value);
    }
    return body;
  }

  /** The API's field errors point at scenes (`scenes.1.input.prompt`): mark those rows. */
  markRows(error) {
    const bad = new Set(
      (error?.errors ?? []).map((e) => /^scenes\.(\d+)/.exec(e.path || "")?.[1]).filter(Boolean).map(Number),
    );
    this.rows.forEach((row, i) => row.invalid(bad.has(i)));
  }

  async submit() {
    if (this.button.disabled) return;
    showProblem(this.errorBox, null);
    this.markRows(null);
    this.button.disabled = true;
    this.form.setAttribute("aria-busy", "true");
    try {
      const body = await this.body();
      const fingerprint = JSON.stringify(body);
      if (this.pending?.fingerprint !== fingerprint) this.pending = { fingerprint, key: api.uuid() };
      const composition = await api.submitComposition(body, this.pending.key);
      this.pending = null;
      this.onSubmitted(composition, body.scenes.map((s) => s.input.prompt ?? ""));
      announce(`Composition submitted: ${composition.progress.summary}.`);
    } catch (error) {
      const retryable = error instanceof api.NetworkError || error.code === "idempotency_key_in_flight";
      if (!retryable) this.pending = null;
      showProblem(this.errorBox, error);
      this.markRows(error);
    } finally {
      this.button.disabled = false;
      this.form.removeAttribute("aria-busy");
    }
  }
}
