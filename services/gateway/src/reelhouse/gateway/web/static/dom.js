// Building DOM nodes without innerHTML: text from the API is never parsed as markup.

/** h("p", {class: "hint", hidden: true}, "text", child) -> HTMLElement */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

export const $ = (id) => document.getElementById(id);

/** A polite screen-reader announcement (the page's one aria-live region). */
export function announce(text) {
  const region = $("announcer");
  region.textContent = "";
  // a change after clearing is announced even when the text repeats
  requestAnimationFrame(() => { region.textContent = text; });
}

/** Show an API problem (or any error) in a role="alert" box; null hides it. */
export function showProblem(box, error) {
  if (!error) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const parts = [];
  if (error.code) parts.push(h("code", { class: "code" }, error.code), " ");
  parts.push(error.message || String(error));
  const fields = (error.errors || []).map((e) => h("li", {}, h("code", {}, e.path), " ", e.message));
  box.replaceChildren(h("p", {}, parts), fields.length ? h("ul", {}, fields) : null);
  box.hidden = false;
}
