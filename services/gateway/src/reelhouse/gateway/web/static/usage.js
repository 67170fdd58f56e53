// This month's usage per model (GET /v1/usage?group_by=model); hidden where the API has none.

import * as api from "./api.js";
import { $, h, showProblem } from "./dom.js";

const usd = (value) => (value === null || value === undefined ? "—" : `$${Number(value).toFixed(2)}`);

// the API's default range is the current month (UTC)
function fetchUsage() {
  return api.usage({ group_by: "model" });
}

export async function loadUsage() {
  const section = $("usage");
  const body = $("usage-body");
  let page;
  try {
    page = await fetchUsage();
  } catch (error) {
    if (error.status === 404) {
      section.hidden = true; // this gateway has no usage API
      return;
    }
    section.hidden = false;
    const box = h("div", { class: "problem", role: "alert" });
    showProblem(box, error);
    body.replaceChildren(box);
    return;
  }
  const rows = page.data ?? [];
  // a sum of unknowns stays unknown ("—"), never $0.00
  const total = (name) =>
    rows.some((r) => r[name] !== null && r[name] !== undefined)
      ? rows.reduce((sum, r) => sum + (r[name] ?? 0), 0)
      : null;
  const row = (label, cells) =>
    h("tr", {}, h("th", { scope: "row" }, label), cells.map((c) => h("td", {}, c)));
  const table = h(
    "table",
    {},
    h("caption", { class: "visually-hidden" }, "Jobs and cost per model this month"),
    h("thead", {}, h("tr", {}, ["Model", "Jobs", "Estimated", "Actual"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((r) => row(r.model, [String(r.jobs), usd(r.estimated_usd), usd(r.actual_usd)]))),
    h("tfoot", {}, row("Total", [String(total("jobs") ?? 0), usd(total("estimated_usd")), usd(total("actual_usd"))])),
  );
  body.replaceChildren(rows.length ? table : h("p", { class: "hint" }, "No jobs this month yet."));
  section.hidden = false;
}
