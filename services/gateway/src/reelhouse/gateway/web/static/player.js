// The player dialog: a <video controls> (poster, metadata first), an <audio controls> or an <img>,
// with a download link.

import { $, h } from "./dom.js";

function downloadUrl(output, jobId) {
  // media URLs live on the media service's origin, where the download attribute is ignored:
  // download=1 makes the media service answer with Content-Disposition: attachment
  const url = new URL(output.url, location.href);
  const extension = (output.content_type.split("/")[1] || "bin").replace("jpeg", "jpg");
  url.searchParams.set("download", "1");
  url.searchParams.set("filename", `${jobId}.${extension}`);
  return url.href;
}

export class Player {
  constructor() {
    this.dialog = $("player-dialog");
    this.slot = $("player-slot");
    this.link = $("player-download");
    this.returnFocus = null;
    this.dialog.addEventListener("close", () => {
      this.slot.querySelector("video, audio")?.pause();
      this.slot.replaceChildren();
      this.returnFocus?.focus();
    });
    // a click on the backdrop (outside the dialog's box) closes it too
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.dialog.close();
    });
  }

  open(job) {
    const output = job.outputs?.[0];
    if (!output) return;
    this.returnFocus = document.activeElement;
    $("player-title").textContent = job.input?.prompt || job.model;
    const media =
      output.kind === "video"
        ? h("video", {
            "data-testid": "player",
            controls: true,
            preload: "metadata",
            playsinline: true,
            poster: output.poster_url || undefined,
            src: output.url,
            "aria-label": `Video: ${job.input?.prompt || job.model}`,
          })
        : output.kind === "audio"
          ? h("audio", {
              "data-testid": "player",
              controls: true,
              preload: "metadata",
              src: output.url,
              "aria-label": `Audio: ${job.input?.prompt || job.model}`,
            })
          : h("img", { "data-testid": "player", src: output.url, alt: job.input?.prompt || job.model });
    this.slot.replaceChildren(media);
    this.link.href = downloadUrl(output, job.id);
    this.link.setAttribute("download", `${job.id}`);
    this.dialog.showModal();
    media.focus?.();
  }
}
