// Wiring: the key, the form, the gallery, the owner's event stream, the usage summary.

import * as api from "./api.js";
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
  } catch (error) {
    showProblem($("key-error"), error);
    return false;
  }
  // the stream first: every event after this moment arrives; the list shows what came before
  stream.start();
  await stream.opened(5000);
  gallery.reset();
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
