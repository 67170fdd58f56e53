// Wiring: the key, the form, the gallery, the owner's event stream, the usage summary, and the
// compositions view (its form and cards) behind a second tab.

import * as api from "./api.js";
import { CompositionForm } from "./compose.js";
import { Compositions } from "./compositions.js";
import { $, showProblem } from "./dom.js";
import { GenerateForm } from "./form.js";
import { Gallery } from "./gallery.js";
import { Player } from "./player.js";
import { EventStream } from "./sse.js";
import { loadUsage } from "./usage.js";

const LIVE_LABELS = { connecting: "connecting…", open: "live", reconnecting: "reconnecting…", stopped: "offline" };

const player = new Player();
const form = new GenerateForm({ onSubmitted: (job) => gallery.added(job) });
const gallery = new Gallery({
  player,
  waitForSubmits: () => Promise.all([form.inflight, gallery.retrying]),
});
const compositions = new Compositions({ player });
const composeForm = new CompositionForm({
  onSubmitted: (composition, prompts) => compositions.added(composition, prompts),
});
const stream = new EventStream("/v1/events", {
  onEvent: (event) => gallery.onEvent(event),
  onState: (state, problem) => {
    const badge = $("live-state");
    badge.dataset.state = state;
    badge.textContent = LIVE_LABELS[state] ?? state;
    if (problem) showProblem($("key-error"), problem);
  },
  // resuming was refused: what happened meanwhile is read from the list again
  onResync: () => gallery.reset(),
});

/** (Re)connect everything with the stored key; false when the key does not work. */
async function connect() {
  stream.stop();
  showProblem($("key-error"), null);
  try {
    const models = await api.listModels();
    form.setModels(models);
    gallery.setModels(models);
    composeForm.setModels(models);
  } catch (error) {
    showProblem($("key-error"), error);
    return false;
  }
  // the stream first: every event after this moment arrives; the list shows what came before
  stream.start();
  await stream.opened(5000);
  gallery.reset();
  compositions.reset();
  loadUsage();
  return true;
}

// Enter in the key field fires "change" and then "submit": one connection per key
let connectedKey = null;
function useKey(value) {
  const key = value.trim();
  if (!key || key === connectedKey) return;
  connectedKey = key;
  api.setApiKey(key);
  connect().then((ok) => { if (!ok) connectedKey = null; });
}

$("api-key").value = api.apiKey();
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  useKey($("api-key").value);
});
$("api-key").addEventListener("change", () => useKey($("api-key").value));
if (api.apiKey()) useKey(api.apiKey());
else $("api-key").focus();

// two views as tabs (WAI-ARIA tabs pattern: arrow keys move between them)
const tabs = [$("tab-generations"), $("tab-compositions")];
function showView(tab, focus = false) {
  for (const other of tabs) {
    const chosen = other === tab;
    other.setAttribute("aria-selected", String(chosen));
    other.tabIndex = chosen ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !chosen;
  }
  if (focus) tab.focus();
}
for (const tab of tabs) {
  tab.addEventListener("click", () => showView(tab));
  tab.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    showView(tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length], true);
  });
}
