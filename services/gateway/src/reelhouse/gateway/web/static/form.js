// The submit form, generated from the chosen model's input_schema (GET /v1/models).

import * as api from "./api.js";
import { $, announce, h, showProblem } from "./dom.js";

const MODEL_STORAGE = "reelhouse-model";
// the sandbox's knobs (faults, delays, output size for benchmarks): under "Advanced / simulation"
const isSimulation = (name) => name.startsWith("sandbox_") || name === "size_mb";
const IMAGE_TYPES = "image/png,image/jpeg,image/webp,image/gif";
const VIDEO_TYPES = "video/mp4,video/webm";

export const labelFor = (name) => name.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

/** Whether an input is worth showing for this model (an image has no duration). */
function applies(name, model) {
  return !(name === "duration" && model.kind.endsWith("image"));
}

function hintFor(id, schema) {
  return schema.description ? h("p", { class: "hint", id: `${id}-hint` }, schema.description) : null;
}

function wrap(id, name, schema, control, required, narrow = false) {
  const text = labelFor(name) + (required ? "" : " (optional)");
  const kind = narrow ? "field narrow" : "field";
  return h("div", { class: kind }, h("label", { for: id }, text), control, hintFor(id, schema));
}

function enumField(name, schema, required) {
  const id = `field-${name}`;
  const choices = schema.enum.map((value) => new Option(String(value), JSON.stringify(value)));
  const blank = required || schema.default !== undefined ? [] : [new Option("—", "")];
  const select = h("select", { id, name, required, "aria-describedby": schema.description && `${id}-hint` });
  select.append(...blank, ...choices);
  if (schema.default !== undefined) select.value = JSON.stringify(schema.default);
  return {
    name,
    element: wrap(id, name, schema, select, required),
    read: () => (select.value === "" ? undefined : JSON.parse(select.value)),
  };
}

function booleanField(name, schema) {
  const id = `field-${name}`;
  const box = h("input", { id, name, type: "checkbox", checked: schema.default === true });
  const element = h(
    "div",
    { class: "field check" },
    box,
    h("label", { for: id }, labelFor(name)),
    hintFor(id, schema),
  );
  if (schema.description) box.setAttribute("aria-describedby", `${id}-hint`);
  // sent when it has a default (so the choice is explicit) or when ticked
  return { name, element, read: () => (schema.default !== undefined || box.checked ? box.checked : undefined) };
}

function numberField(name, schema, required) {
  const id = `field-${name}`;
  const integer = schema.type === "integer";
  const input = h("input", {
    id,
    name,
    type: "number",
    inputmode: integer ? "numeric" : "decimal",
    min: schema.minimum ?? schema.exclusiveMinimum,
    max: schema.maximum ?? schema.exclusiveMaximum,
    step: schema.multipleOf ?? (integer ? 1 : "any"),
    value: schema.default,
    placeholder: schema.default === undefined ? "auto" : undefined,
    required,
    "aria-describedby": schema.description && `${id}-hint`,
  });
  return {
    name,
    element: wrap(id, name, schema, input, required, true),
    read: () => (input.value === "" ? undefined : Number(input.value)),
  };
}

function textField(name, schema, required) {
  const id = `field-${name}`;
  const long = name === "prompt" || name.endsWith("_prompt") || (schema.maxLength ?? 0) > 300;
  const control = h(long ? "textarea" : "input", {
    id,
    name,
    type: long ? undefined : "text",
    rows: long ? 3 : undefined,
    minlength: schema.minLength,
    maxlength: schema.maxLength,
    required,
    placeholder: name === "prompt" ? "a red fox running through snow" : undefined,
    "data-testid": name === "prompt" ? "prompt" : undefined,
    "aria-describedby": schema.description && `${id}-hint`,
  });
  if (schema.default !== undefined) control.value = schema.default;
  return {
    name,
    element: wrap(id, name, schema, control, required),
    read: () => (control.value === "" ? undefined : control.value),
    control,
  };
}

/**
 * An image or video input: the file goes to POST /v1/uploads; its upload:// reference is sent.
 * `id` and `testid` tell apart several on one page (the composition's scene rows).
 */
export function uploadField(name, schema, required, { id = `field-${name}`, testid = "upload" } = {}) {
  const video = /video/i.test(name);
  const statusId = `${id}-status`;
  const input = h("input", {
    id,
    name,
    type: "file",
    accept: video ? VIDEO_TYPES : IMAGE_TYPES,
    required,
    "aria-describedby": statusId,
  });
  const preview = video
    ? h("video", { class: "preview", muted: true, controls: true, preload: "metadata", hidden: true })
    : h("img", { class: "preview", alt: `Preview of the chosen ${labelFor(name).toLowerCase()}`, hidden: true });
  const status = h("p", { class: "hint", id: statusId, "aria-live": "polite" }, schema.description || "");
  let reference;
  let uploading = null;
  let previewUrl = null;

  input.addEventListener("change", () => {
    reference = undefined;
    input.setCustomValidity("");
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    const file = input.files[0];
    preview.hidden = !file;
    if (!file) return;
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    status.textContent = `Uploading ${file.name}…`;
    const attempt = api.uploadFile(file).then(
      (upload) => {
        reference = upload.reference;
        const size = upload.width && upload.height ? ` (${upload.width}×${upload.height})` : "";
        status.textContent = `Uploaded ${file.name}${size}.`;
      },
      (error) => {
        status.textContent = `Upload failed: ${error.code ? error.code + ": " : ""}${error.message}`;
        input.setCustomValidity(error.message);
        throw error;
      },
    );
    uploading = attempt.finally(() => { if (uploading === attempt) uploading = null; });
    uploading.catch(() => {}); // reported in the status line; submit sees it again
  });

  const element = h(
    "div",
    { class: "field upload", "data-testid": testid },
    h("label", { for: id }, labelFor(name) + (required ? "" : " (optional)")),
    input,
    preview,
    status,
  );
  return {
    name,
    element,
    async read() {
      if (uploading) await uploading;
      return reference;
    },
  };
}

function fieldFor(name, schema, required) {
  if (schema.type === "string" && schema.format === "uri") return uploadField(name, schema, required);
  if (Array.isArray(schema.enum)) return enumField(name, schema, required);
  if (schema.type === "boolean") return booleanField(name, schema);
  if (schema.type === "integer" || schema.type === "number") return numberField(name, schema, required);
  if (schema.type === "string") return textField(name, schema, required);
  return null; // arrays and objects: not offered in the form
}

export class GenerateForm {
  constructor({ onSubmitted }) {
    this.onSubmitted = onSubmitted;
    this.form = $("generate");
    this.select = $("model");
    this.button = this.form.querySelector("[data-testid=submit]");
    this.errorBox = $("form-error");
    this.models = new Map();
    this.fields = [];
    this.pending = null; // {fingerprint, key}: the Idempotency-Key of a submission not yet answered
    this.inflight = Promise.resolve(); // settles once the current submit's card is shown
    this.select.addEventListener("change", () => {
      localStorage.setItem(MODEL_STORAGE, this.select.value);
      this.render();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  setModels(models) {
    const available = models.filter((m) => m.available !== false);
    this.models = new Map(available.map((m) => [m.id, m]));
    const previous = this.select.value || localStorage.getItem(MODEL_STORAGE);
    this.select.replaceChildren(...available.map((m) => new Option(`${m.id} (${m.kind})`, m.id)));
    if (this.models.has(previous)) this.select.value = previous;
    this.render();
  }

  render() {
    const model = this.models.get(this.select.value);
    const prompt = this.form.querySelector("[data-testid=prompt]")?.value;
    showProblem(this.errorBox, null);
    $("model-hint").textContent = model ? `${model.kind} · ${model.description || ""}` : "No model available.";
    const schema = model?.input_schema ?? { properties: {} };
    const required = new Set(schema.required ?? []);
    const main = [];
    const advanced = [];
    this.fields = [];
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      if (!model || !applies(name, model)) continue;
      const field = fieldFor(name, property, required.has(name));
      if (!field) continue;
      this.fields.push(field);
      (isSimulation(name) ? advanced : main).push(field.element);
    }
    $("fields").replaceChildren(...main);
    $("advanced-fields").replaceChildren(...advanced);
    $("advanced").hidden = advanced.length === 0;
    const promptBox = this.form.querySelector("[data-testid=prompt]");
    if (promptBox && prompt) promptBox.value = prompt;
    this.button.disabled = !model;
  }

  async submit() {
    const model = this.models.get(this.select.value);
    if (!model || this.button.disabled) return;
    showProblem(this.errorBox, null);
    this.button.disabled = true;
    this.form.setAttribute("aria-busy", "true");
    let settle;
    this.inflight = new Promise((resolve) => { settle = resolve; });
    try {
      const input = {};
      for (const field of this.fields) {
        const value = await field.read();
        if (value !== undefined) input[field.name] = value;
      }
      const body = { model: model.id, input };
      const fingerprint = JSON.stringify(body);
      // the same submission again after a lost answer keeps its key: never two jobs
      if (this.pending?.fingerprint !== fingerprint) this.pending = { fingerprint, key: api.uuid() };
      const job = await api.submitGeneration(body, this.pending.key);
      this.pending = null;
      this.onSubmitted(job);
      announce(`Submitted: ${model.id}, ${job.status}.`);
    } catch (error) {
      const retryable = error instanceof api.NetworkError || error.code === "idempotency_key_in_flight";
      if (!retryable) this.pending = null;
      showProblem(this.errorBox, error);
    } finally {
      this.button.disabled = false;
      this.form.removeAttribute("aria-busy");
      settle();
    }
  }
}
