// The step-through of a backward pass, and a zoom-and-pan view of any graph picture.
//
// One ES module for every place a student meets it: the notebook widget (anywidget calls
// `render`), the standalone page and a static export of a notebook (both inline this file and
// call `mount`), and a picture too big to read at the column's width (`zoomable`). The Python
// side (visualize/trace.py, visualize/frontend.py) sends the picture as Graphviz SVG text and,
// per step, what changes; the ids in the SVG are the nodes' topological indices (`v3`, its op
// `v3op`, the edges `e3_0` into that op and `e3` out of it).
//
// Nothing here scrolls the page: the picture moves inside its own viewport (its viewBox), so a
// lesson page never jumps to the widget.

const SVG_NS = "http://www.w3.org/2000/svg";
const NATURAL = 4 / 3; // CSS pixels per Graphviz point: a picture at its own size
const LEGIBLE = 0.75; // pixels per point at which 14 pt text is 10.5 px: the smallest zoom a step
// moves to, and the zoom at which a whole picture still reads (then a step shows it all)
const TOLERANCE = 1e-3; // a prediction within 0.1% (or right to 3 significant digits) is right

const STYLE = `
.agc-root { font-family: Helvetica, Arial, sans-serif; font-size: 14px; color: #222;
  border: 1px solid #ddd; border-radius: 4px; padding: 6px; box-sizing: border-box;
  max-width: 100%; outline: none; }
.agc-root:focus-visible { box-shadow: 0 0 0 2px #8ab4f8; }
.agc-bar { display: flex; flex-wrap: wrap; gap: 4px 8px; align-items: center; margin-bottom: 6px; }
.agc-bar button { font-size: 13px; padding: 2px 8px; cursor: pointer; }
.agc-bar input[type=range] { flex: 1 1 10em; min-width: 6em; max-width: 28em; }
.agc-counter { font-variant-numeric: tabular-nums; white-space: nowrap; }
.agc-body { display: flex; gap: 8px; align-items: stretch; }
.agc-body.agc-stacked { flex-direction: column; }
.agc-view { position: relative; flex: 1 1 auto; min-width: 0; overflow: hidden;
  border: 1px solid #eee; background: #fff; touch-action: none; cursor: grab; }
.agc-view.agc-dragging { cursor: grabbing; }
.agc-view > svg { display: block; width: 100%; height: 100%; }
.agc-side { flex: 0 0 34%; min-width: 0; overflow: auto; background: #f6f6f6;
  padding: 6px 9px; box-sizing: border-box; }
.agc-stacked .agc-side { flex: none; max-height: 16em; }
.agc-view[hidden] { display: none; }
.agc-overview { margin-bottom: 6px; cursor: pointer; }
svg g.box.agc-current > polygon:first-of-type { stroke: #d62728; stroke-width: 3; }
.agc-side pre { margin: 0 0 6px 0; white-space: pre-wrap; font-size: 13px; }
.agc-side pre.agc-code { background: #fff; border-left: 3px solid #1f78b4; padding: 3px 6px;
  font-family: Menlo, Consolas, monospace; font-size: 12px; }
.agc-side table { border-collapse: collapse; font-size: 12px; margin-bottom: 6px; }
.agc-side td, .agc-side th { border-bottom: 1px solid #ddd; padding: 1px 6px; text-align: left; }
.agc-side th { position: sticky; top: 0; background: #eee; }
.agc-zoomonly .agc-bar { margin-bottom: 2px; }
.agc-predict { border-top: 1px solid #ccc; margin-top: 6px; padding-top: 6px; }
.agc-predict label { display: block; margin: 3px 0; }
.agc-predict input { width: 7em; font-size: 13px; }
.agc-ok { color: #1a7f37; font-weight: bold; }
.agc-wrong { color: #b42318; font-weight: bold; }
.agc-hint { color: #6a3d9a; margin: 2px 0 4px 1em; }
.agc-score { font-weight: bold; }
svg .agc-flow-label { fill: #d62728; font-size: 12px; font-weight: bold;
  paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg.agc-dim g.node:not(.agc-lit), svg.agc-dim g.edge:not(.agc-lit) { opacity: 0.3; }
svg g.value.agc-unknown text.agc-grad { fill: #999; }
svg g.value.agc-current > polygon:first-of-type,
svg g.value.agc-current > path:first-of-type { fill: var(--agc-current); }
svg g.value.agc-receiving > polygon:first-of-type,
svg g.value.agc-receiving > path:first-of-type { fill: var(--agc-receiving); }
svg g.edge.agc-flow path { stroke: var(--agc-flow); stroke-width: 3; stroke-dasharray: 8 4;
  animation: agc-flow 0.8s linear infinite; }
svg g.edge.agc-flow polygon { fill: var(--agc-flow); stroke: var(--agc-flow); }
@keyframes agc-flow { to { stroke-dashoffset: -24; } }
@media (prefers-reduced-motion: reduce) { svg g.edge.agc-flow path { animation: none; } }
`;

function addStyle(el) {
  const root = el.getRootNode();
  const host = root.head || root; // a document's head, or a shadow root
  if (host.querySelector && host.querySelector("style[data-agc]")) return;
  const style = document.createElement("style");
  style.setAttribute("data-agc", "");
  style.textContent = STYLE;
  (host.appendChild ? host : document.head).appendChild(style);
}

function make(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function parseSvg(text) { // the picture's SVG text, from its svg element on (Python cuts it there)
  const holder = document.createElement("div");
  holder.innerHTML = text;
  return holder.querySelector("svg");
}

// ---- zoom and pan: the viewBox of the picture inside a fixed viewport -------------------------

/** A viewport that shows `svg` fitted, with wheel zoom, drag to pan, and `zoomTo(box)`. */
function makeViewport(view, svg, { maxHeight }) {
  const [x0, y0, width, height] = (svg.getAttribute("viewBox") || "0 0 100 100")
    .split(/[\s,]+/).map(Number);
  const whole = { x: x0, y: y0, w: width, h: height };
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  view.appendChild(svg);
  let box = { ...whole };
  let animation = 0;

  function size() {
    return { w: view.clientWidth || 600, h: view.clientHeight || 400 };
  }
  function apply(b) {
    if (!(b.w > 0 && b.h > 0 && Number.isFinite(b.x + b.y + b.w + b.h))) return; // not laid out
    box = b;
    svg.setAttribute("viewBox", `${b.x} ${b.y} ${b.w} ${b.h}`);
    view.dataset.zoom = String(scale());
  }
  function scale() { // CSS pixels per picture unit, as shown now
    const s = size();
    return Math.min(s.w / box.w, s.h / box.h);
  }
  function boxAt(cx, cy, k) { // the box centred on (cx, cy) showing k pixels per unit
    const s = size();
    return { x: cx - s.w / k / 2, y: cy - s.h / k / 2, w: s.w / k, h: s.h / k };
  }
  function moveTo(target, animate) {
    cancelAnimationFrame(animation);
    const reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (!animate || reduce) { apply(target); view.dataset.moving = "0"; return; }
    const start = { ...box }, t0 = performance.now(), duration = 220;
    view.dataset.moving = "1";
    const frame = (now) => {
      const t = Math.max(0, Math.min(1, (now - t0) / duration)), e = t * (2 - t);
      apply({
        x: start.x + (target.x - start.x) * e, y: start.y + (target.y - start.y) * e,
        w: start.w + (target.w - start.w) * e, h: start.h + (target.h - start.h) * e,
      });
      if (t < 1) animation = requestAnimationFrame(frame);
      else view.dataset.moving = "0";
    };
    animation = requestAnimationFrame(frame);
  }
  function fitScale() { const s = size(); return Math.min(s.w / whole.w, s.h / whole.h); }
  function fit(animate = false) {
    const k = Math.min(fitScale(), NATURAL * 1.5);
    moveTo(boxAt(whole.x + whole.w / 2, whole.y + whole.h / 2, k), animate);
  }
  function zoomBy(factor, cx, cy) {
    const k = Math.max(fitScale() * 0.5, Math.min(scale() * factor, NATURAL * 6));
    const s = size();
    if (cx === undefined) { cx = box.x + box.w / 2; cy = box.y + box.h / 2; }
    // keep the point under the pointer where it is
    const px = (cx - box.x) / box.w, py = (cy - box.y) / box.h;
    const w = s.w / k, h = s.h / k;
    moveTo({ x: cx - px * w, y: cy - py * h, w, h }, false);
  }
  /** Show `region` (picture units) whole if it fits at a legible zoom, else centred on `focus`. */
  function zoomTo(region, focus, animate = true) {
    if (fitScale() >= LEGIBLE) { fit(animate); return; } // the whole picture reads: show it all
    const s = size();
    const pad = 24 / NATURAL;
    const r = { x: region.x - pad, y: region.y - pad, w: region.w + 2 * pad, h: region.h + 2 * pad };
    const wanted = Math.min(s.w / r.w, s.h / r.h);
    const k = Math.max(Math.min(wanted, NATURAL), Math.min(fitScale(), NATURAL), LEGIBLE);
    const centre = k * r.w <= s.w && k * r.h <= s.h ? r : focus;
    moveTo(boxAt(centre.x + centre.w / 2, centre.y + centre.h / 2, k), animate);
  }
  function pictureBox(el) { // an element's box in the picture's units (null: not laid out)
    const own = svg.getScreenCTM(), theirs = el.getScreenCTM && el.getScreenCTM();
    if (!own || !theirs) return null;
    const b = el.getBBox();
    const m = own.inverse().multiply(theirs);
    const corners = [[b.x, b.y], [b.x + b.width, b.y], [b.x, b.y + b.height],
      [b.x + b.width, b.y + b.height]].map(([x, y]) => {
      const p = svg.createSVGPoint(); p.x = x; p.y = y; return p.matrixTransform(m);
    });
    const xs = corners.map((p) => p.x), ys = corners.map((p) => p.y);
    return { x: Math.min(...xs), y: Math.min(...ys), w: Math.max(...xs) - Math.min(...xs),
      h: Math.max(...ys) - Math.min(...ys) };
  }

  // ctrl (or cmd) + wheel, or the wheel once the picture was clicked, zooms about the pointer
  // (else the page scrolls as usual); dragging pans
  view.addEventListener("wheel", (event) => {
    const root = view.closest(".agc-root");
    const focused = root && root.contains(document.activeElement);
    if (!(event.ctrlKey || event.metaKey || focused)) return;
    event.preventDefault();
    const r = view.getBoundingClientRect(), k = scale(), s = size();
    const offsetX = (s.w - box.w * k) / 2, offsetY = (s.h - box.h * k) / 2;
    const cx = box.x + (event.clientX - r.left - offsetX) / k;
    const cy = box.y + (event.clientY - r.top - offsetY) / k;
    zoomBy(event.deltaY < 0 ? 1.2 : 1 / 1.2, cx, cy);
  }, { passive: false });
  let drag = null;
  view.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, box: { ...box }, moving: false, id: event.pointerId };
  });
  view.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.moving) { // a click stays a click (it reaches the node under it) until it moves
      if (Math.hypot(dx, dy) < 4) return;
      drag.moving = true;
      view.setPointerCapture(drag.id);
      view.classList.add("agc-dragging");
    }
    const k = scale();
    apply({ ...drag.box, x: drag.box.x - dx / k, y: drag.box.y - dy / k });
  });
  const end = () => { drag = null; view.classList.remove("agc-dragging"); };
  view.addEventListener("pointerup", end);
  view.addEventListener("pointercancel", end);

  // the viewport's height: the picture's at the column's width, within a screen's share
  function setHeight() {
    const natural = whole.h * Math.min(NATURAL, (view.clientWidth || 600) / whole.w);
    view.style.height = `${Math.round(Math.max(160, Math.min(natural + 8, maxHeight)))}px`;
  }
  setHeight();
  fit(false);
  const listeners = [];
  let laidOut = view.clientWidth;
  if (window.ResizeObserver) { // shown later (a notebook renders before attaching) or resized
    new ResizeObserver(() => {
      if (!view.clientWidth || view.clientWidth === laidOut) return;
      const first = !laidOut;
      laidOut = view.clientWidth;
      if (first) setHeight();
      fit(false);
      listeners.forEach((f) => f());
    }).observe(view);
  }
  return { fit, zoomBy, zoomTo, pictureBox, scale, whole, onResize: (f) => listeners.push(f) };
}

function zoomButtons(bar, viewport) {
  const buttons = [["\u2212", "zoom out", () => viewport.zoomBy(1 / 1.25)],
    ["+", "zoom in", () => viewport.zoomBy(1.25)], ["fit", "show the whole picture",
      () => viewport.fit(true)]];
  for (const [text, title, action] of buttons) {
    const button = make("button", { type: "button", title, "aria-label": title }, text);
    button.addEventListener("click", action);
    bar.appendChild(button);
  }
}

/** A picture too big for its column, fitted, with zoom and pan (static pictures). */
export function zoomable(el, svgText, { title = "graph" } = {}) {
  addStyle(el);
  const root = make("div", { class: "agc-root agc-zoomonly", "data-agc-picture": "" });
  const bar = make("div", { class: "agc-bar" });
  bar.appendChild(make("span", {}, `${title}: ctrl + wheel (or click, then wheel) zooms, drag moves`));
  const view = make("div", { class: "agc-view", "data-zoomable": "", role: "img",
    "aria-label": title });
  root.append(bar, view);
  el.appendChild(root);
  const viewport = makeViewport(view, parseSvg(svgText),
    { maxHeight: Math.max(320, window.innerHeight * 0.8) });
  zoomButtons(bar, viewport);
  return viewport;
}

// ---- the step-through ---------------------------------------------------------------------------

function gradTexts(svg) { // node id -> its "grad ..." text element
  const found = {};
  svg.querySelectorAll("g.value").forEach((g) => {
    g.querySelectorAll("text").forEach((t) => {
      if (t.textContent.startsWith("grad")) { t.classList.add("agc-grad"); found[g.id] = t; }
    });
  });
  return found;
}

function parseNumber(text) {
  const t = String(text).trim().replace(/\u2212/g, "-");
  if (!t) return NaN;
  const fraction = t.match(/^(-?[\d.]+(?:e-?\d+)?)\s*\/\s*(-?[\d.]+(?:e-?\d+)?)$/i);
  if (fraction) return Number(fraction[1]) / Number(fraction[2]);
  return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t) ? Number(t) : NaN;
}

/** Right within 0.1%, or right to 3 significant digits (as a student rounds). */
export function isRight(given, expected) {
  if (!Number.isFinite(given)) return false;
  if (given === expected) return true;
  if (Math.abs(given - expected) <= TOLERANCE * Math.abs(expected)) return true;
  return expected !== 0 && Number(given.toPrecision(3)) === Number(expected.toPrecision(3));
}

function hintFor(input, step) {
  if (step.op === "relu") {
    return "relu passes the gradient on where its input is positive, and stops it (0) elsewhere.";
  }
  switch (input.gate) {
    case "add":
      return `an add gate passes its gradient on unchanged: what reached ${step.name}?`;
    case "mul":
      return `a mul gate swaps: what is the *other* input? Multiply it by what reached ` +
        `${step.name} (${step.upstream}).`;
    case "max":
      return "a max gate routes: the larger input gets the whole gradient, the other gets 0.";
    default:
      return `multiply what reached ${step.name} (${step.upstream}) by the local gradient ` +
        `d${step.symbolName}/d${input.symbolName}` + (input.symbol ? ` = ${input.symbol}` : "") + ".";
  }
}

/**
 * The step-through in `el`. `data` comes from `BackwardTrace.page_data()`; options:
 * `step` (where to start), `predict` (ask before telling), `hash` (read and write `#step=K`),
 * `onStep(k)` and `onAnswers(list)` (the widget syncs them to Python).
 */
export function mount(el, data, options = {}) {
  const started = performance.now();
  addStyle(el);
  const steps = data.steps, last = steps.length - 1;
  const root = make("div", { class: "agc-root", tabindex: "0", "data-agc-stepthrough": "",
    "aria-label": data.title });
  root.style.setProperty("--agc-current", data.colours.current);
  root.style.setProperty("--agc-receiving", data.colours.receiving);
  root.style.setProperty("--agc-flow", data.colours.flow);
  const bar = make("div", { class: "agc-bar" });
  const previous = make("button", { type: "button", title: "previous step (left arrow)" },
    "\u2190 previous");
  const slider = make("input", { type: "range", min: "1", max: String(steps.length), value: "1",
    "aria-label": "step" });
  const next = make("button", { type: "button", title: "next step (right arrow)" }, "next \u2192");
  const counter = make("span", { class: "agc-counter" });
  bar.append(previous, slider, next, counter);
  const follow = make("input", { type: "checkbox" });
  follow.checked = true;
  const followLabel = make("label", { title: "move the picture to each step's node" });
  followLabel.append(follow, " follow");
  const body = make("div", { class: "agc-body" });
  const side = make("div", { class: "agc-side", "aria-live": "polite" });
  body.append(side);
  const modular = Boolean(data.modules && data.modules.length);
  const overviewView = make("div", { class: "agc-view agc-overview", "data-zoomable": "",
    title: "the whole graph, a module per box: click one to step through it" });
  if (modular) root.append(bar, overviewView, body); else root.append(bar, body);
  el.appendChild(root);
  if ((el.clientWidth || root.clientWidth) < 820) body.classList.add("agc-stacked");

  // The picture a step is shown on: the whole graph, or (a collapsed graph) the module that
  // holds the step's node; each is laid out once, when first shown, and kept.
  const pictures = new Map();
  let view, svg, viewport, grads, shownPicture; // (undefined: none shown yet)
  const maxHeight = Math.max(300, window.innerHeight * (modular ? 0.55 : 0.72));
  function usePicture(m) {
    if (m === shownPicture || (m !== null && !(data.modules[m] && data.modules[m].svg))) return;
    if (pictures.has(shownPicture)) pictures.get(shownPicture).view.hidden = true;
    if (!pictures.has(m)) {
      const box = make("div", { class: "agc-view agc-main", "data-zoomable": "" });
      body.insertBefore(box, side);
      const picture = parseSvg(m === null ? data.svg : data.modules[m].svg);
      const zoom = makeViewport(box, picture, { maxHeight });
      pictures.set(m, { view: box, svg: picture, viewport: zoom, grads: gradTexts(picture) });
      zoom.onResize(() => { if (m === shownPicture && !pathsMode) followStep(current, false); });
    }
    ({ view, svg, viewport, grads } = pictures.get(m));
    view.hidden = false;
    shownPicture = m;
  }
  const first = modular && steps[0].module >= 0 ? steps[0].module
    : modular ? data.modules.findIndex((m) => m.svg) : -1;
  usePicture(first >= 0 ? first : null); // (no module drawn at all: the map is the picture)
  let overview = null;
  if (modular) {
    const whole = parseSvg(data.svg);
    overview = { svg: whole, viewport: makeViewport(overviewView, whole, { maxHeight: 170 }) };
    overviewView.addEventListener("click", (event) => {
      const box = event.target.closest && event.target.closest("g.box");
      const m = box ? data.modules.findIndex((module) => module.id === box.id) : -1;
      const first = steps.findIndex((step) => step.module === m);
      if (m >= 0 && first >= 0) show(first);
    });
  }
  zoomButtons(bar, { zoomBy: (f) => viewport.zoomBy(f), fit: (a) => viewport.fit(a) });
  bar.appendChild(followLabel);
  const paths = data.paths || {}; // value id -> its paths from the output, written by Python
  const pathsButton = make("button", { type: "button", "aria-pressed": "false",
    title: "click a value in the picture: every path from the output to it, and their sum" },
    "paths to\u2026");
  if (Object.keys(paths).length && !options.predict) bar.appendChild(pathsButton);
  let pathsMode = false; // (not in predict mode: it shows every answer)
  const never = new Set(data.never);
  let current = -1;
  const predict = Boolean(options.predict);
  const answers = [];
  const resolved = new Set(); // steps whose inputs' gradients are shown (answered, or given up)
  const correct = new Set(); // "step:position" answered right
  for (const a of options.answers || []) { // a view drawn again starts where the last one was
    answers.push(a);
    if (a.correct) correct.add(`${a.step}:${a.position}`);
    if (a.skipped || a.revealed) resolved.add(a.step);
  }
  steps.forEach((s, k) => {
    if (k > 0 && s.ask.length && s.ask.every((position) => correct.has(`${k}:${position}`))) {
      resolved.add(k);
    }
  });

  function isHidden(k) { return predict && k > 0 && !resolved.has(k) && steps[k].ask.length > 0; }

  function knownAfter(k) {
    const known = {};
    for (let j = 0; j <= k; j++) { // a step not answered yet tells nothing
      if (isHidden(j)) continue;
      for (const [id, text] of data.totals[j]) known[id] = text;
    }
    if (isHidden(k)) for (const input of steps[k].inputs) delete known[input.id];
    return known;
  }

  function clearFlow() {
    svg.querySelectorAll(".agc-current, .agc-receiving, .agc-lit, .agc-flow").forEach((g) =>
      g.classList.remove("agc-current", "agc-receiving", "agc-lit", "agc-flow"));
    svg.querySelectorAll(".agc-flow-label").forEach((t) => t.remove());
  }

  function labelEdges(s, hidden) {
    if (s.inputs.length > 4) return; // too many to label legibly: the panel's table says each
    const placed = [];
    for (const input of s.inputs) {
      const edge = svg.getElementById ? svg.getElementById(input.edge) : null;
      const path = edge && edge.querySelector("path");
      if (!path || !path.getTotalLength) continue;
      const length = path.getTotalLength();
      const a = path.getPointAtLength(0), b = path.getPointAtLength(length);
      const from = svg.getElementById(input.id);
      let toward = 0.3; // near the input's end: edges meet at the op, not at their inputs
      const o = from && viewport.pictureBox(from);
      const own = svg.getScreenCTM(), theirs = path.getScreenCTM();
      if (o && own && theirs) { // compare in the picture's units: the path has a transform
        const m = own.inverse().multiply(theirs);
        const [pa, pb] = [a, b].map((q) => {
          const p = svg.createSVGPoint(); p.x = q.x; p.y = q.y; return p.matrixTransform(m);
        });
        const cx = o.x + o.w / 2, cy = o.y + o.h / 2;
        const da = Math.hypot(pa.x - cx, pa.y - cy), db = Math.hypot(pb.x - cx, pb.y - cy);
        toward = da < db ? 0.25 : 0.75;
      }
      if (length < 90) toward = 0.5; // a short edge: its middle is clear of both ends' boxes
      const at = path.getPointAtLength(length * toward);
      const label = document.createElementNS(SVG_NS, "text");
      label.setAttribute("class", "agc-flow-label");
      label.setAttribute("text-anchor", "middle");
      label.textContent = hidden ? "+= ?" : input.label;
      let y = at.y - 4;
      const width = label.textContent.length * 7, height = 13;
      for (let tries = 0; tries < 12; tries++) { // step down past labels already placed
        const clash = placed.some((p) => Math.abs(p.x - at.x) < (p.w + width) / 2 &&
          Math.abs(p.y - y) < height);
        if (!clash) break;
        y += height;
      }
      placed.push({ x: at.x, y, w: width });
      label.setAttribute("x", at.x);
      label.setAttribute("y", y);
      edge.parentNode.appendChild(label); // above every edge and node
    }
  }

  function show(k, { moved = true, fromModel = false } = {}) {
    k = Math.max(0, Math.min(last, Math.round(Number(k) || 0)));
    // moving on past a step the student has not answered gives it up (its answers show from
    // then on, and every later step would tell them anyway)
    if (predict && k > current && current > 0 && isHidden(current)) giveUp(current, true);
    const changed = k !== current;
    current = k;
    const s = steps[k], hidden = isHidden(k);
    if (modular && shownPicture !== null) {
      if (s.module >= 0) usePicture(s.module); // else: not drawn; stay on the module shown
      overview.svg.querySelectorAll(".agc-current").forEach((g) => g.classList.remove("agc-current"));
      const box = overview.svg.getElementById(data.modules[shownPicture].id);
      if (box) box.classList.add("agc-current");
      root.dataset.module = data.modules[shownPicture].title;
    }
    side.style.maxHeight = body.classList.contains("agc-stacked") ? "" : view.style.height;
    showGrads(knownAfter(k));
    clearFlow();
    for (const id of litIds(s)) {
      const g = svg.getElementById(id);
      if (g) g.classList.add("agc-lit");
    }
    svg.classList.toggle("agc-dim", k > 0);
    const node = svg.getElementById(s.node);
    if (node) node.classList.add("agc-current");
    const through = svg.getElementById(s.through);
    if (through && k > 0) through.classList.add("agc-flow");
    for (const input of s.inputs) {
      const g = svg.getElementById(input.id);
      if (g) g.classList.add("agc-receiving");
      const edge = svg.getElementById(input.edge);
      if (edge) edge.classList.add("agc-flow");
    }
    labelEdges(s, hidden);
    slider.value = String(k + 1);
    counter.textContent = `step ${k + 1} of ${steps.length}`;
    root.dataset.step = String(k);
    showPanel(k, hidden);
    followStep(k, moved);
    if (options.hash === true && changed) {
      history.replaceState(null, "", `#step=${k + 1}`);
    }
    if (changed && !fromModel && options.onStep) options.onStep(k);
  }

  /** What a step lights up: its node and op, the op's way out, and each input and its edge. */
  const litIds = (s) => [s.node, s.node + "op", s.through, ...s.inputs.flatMap((i) => [i.id, i.edge])];

  /** Move the view to step k's node and its inputs (when "follow" is on). */
  function followStep(k, moved) {
    const s = steps[k], node = svg.getElementById(s.node);
    const focus = node && viewport.pictureBox(node);
    if (!follow.checked || !focus) return;
    const parts = litIds(s).map((id) => svg.getElementById(id)).filter(Boolean);
    const boxes = parts.map((part) => viewport.pictureBox(part)).filter(Boolean);
    const region = { x: Math.min(...boxes.map((b) => b.x)), y: Math.min(...boxes.map((b) => b.y)) };
    region.w = Math.max(...boxes.map((b) => b.x + b.w)) - region.x;
    region.h = Math.max(...boxes.map((b) => b.y + b.h)) - region.y;
    viewport.zoomTo(region, focus, moved);
  }

  function showPanel(k, hidden) {
    side.replaceChildren();
    const s = steps[k];
    const text = data.texts[k];
    if (s.inputs.length > 4) { // many inputs: the heading lines, then one row per input
      side.appendChild(make("pre", {}, text.split("\n").slice(0, s.heading).join("\n")));
      const table = make("table");
      const head = make("tr");
      for (const h of ["input", "local gradient", "receives", "total"]) head.appendChild(make("th", {}, h));
      table.appendChild(head);
      for (const input of s.inputs) {
        const row = make("tr");
        for (const cell of [input.name, hidden ? "?" : input.local, hidden ? "?" : input.received,
          hidden ? "?" : input.total]) row.appendChild(make("td", {}, cell));
        table.appendChild(row);
      }
      side.appendChild(table);
    } else { // while the student predicts, only what they predict from: the node and its upstream
      side.appendChild(make("pre", {}, hidden ? text.split("\n").slice(0, s.heading).join("\n")
        : text));
    }
    if (!hidden && data.code && data.code[k] && data.code[k].length) {
      side.appendChild(make("pre", { class: "agc-code", title: "this step as code" },
        data.code[k].join("\n")));
    }
    if (predict && k > 0 && s.ask.length) side.appendChild(questions(k));
    if (predict) side.appendChild(make("div", { class: "agc-score" }, scoreText()));
  }

  function scoreText() {
    const asked = steps.reduce((n, s, k) => n + (k > 0 ? s.ask.length : 0), 0);
    return `score: ${correct.size} of ${asked} right`;
  }

  // An answer is kept per step and input position (`x * x` asks about x twice).
  const keyOf = (k, position) => `${k}:${position}`;

  function record(k, position, given, right, how) {
    const s = steps[k], input = s.inputs[position];
    answers.push({ step: k, node: s.name, input: input.name, position, expected: input.value,
      given, correct: right, ...(how ? { [how]: true } : {}) });
  }

  /** The student gives step k up (skip, reveal, or moving on past it): its answers show. */
  function giveUp(k, skipped) {
    for (const position of steps[k].ask) {
      if (!correct.has(keyOf(k, position))) record(k, position, null, false, skipped ? "skipped" : "revealed");
    }
    resolved.add(k);
    if (options.onAnswers) options.onAnswers(answers.slice());
  }

  function questions(k) {
    const s = steps[k];
    const box = make("div", { class: "agc-predict" });
    box.appendChild(make("div", {}, resolved.has(k) ? "the answers:" :
      `predict: what does each input receive from ${s.name}?`));
    const fields = [];
    for (const position of s.ask) {
      const input = s.inputs[position];
      const label = make("label");
      const field = make("input", { type: "text", inputmode: "decimal",
        "aria-label": `gradient ${input.name} receives`, "data-input": input.name,
        "data-position": String(position) });
      label.append(`d${data.rootName}/d${input.symbolName} += `, field);
      const mark = make("span");
      label.append(" ", mark);
      const key = keyOf(k, position);
      if (resolved.has(k) || correct.has(key)) {
        field.value = input.received;
        field.disabled = true;
        mark.className = correct.has(key) ? "agc-ok" : "";
        mark.textContent = correct.has(key) ? "\u2713 right" : "";
      }
      box.appendChild(label);
      const hint = make("div", { class: "agc-hint" });
      box.appendChild(hint);
      fields.push({ input, position, field, mark, hint, key });
    }
    if (!resolved.has(k)) {
      const check = make("button", { type: "button" }, "check");
      const reveal = make("button", { type: "button" }, "reveal");
      const skip = make("button", { type: "button" }, "skip");
      check.addEventListener("click", () => {
        let all = true;
        for (const f of fields) {
          if (correct.has(f.key)) continue;
          const given = parseNumber(f.field.value);
          if (!Number.isFinite(given)) { // not an answer yet: say so, record nothing
            all = false;
            f.mark.className = "agc-wrong";
            f.mark.textContent = f.field.value.trim() ? "not a number (e.g. -4, 0.5 or 1/2)" : "";
            continue;
          }
          const right = isRight(given, f.input.value);
          record(k, f.position, given, right, "");
          if (right) {
            correct.add(f.key);
            f.mark.className = "agc-ok"; f.mark.textContent = "\u2713 right";
            f.hint.textContent = ""; f.field.disabled = true;
          } else {
            all = false;
            f.mark.className = "agc-wrong"; f.mark.textContent = "\u2717 not yet";
            f.hint.textContent = "hint: " + hintFor(f.input, s);
          }
        }
        if (options.onAnswers) options.onAnswers(answers.slice());
        if (all) { resolved.add(k); show(k, { moved: false }); root.focus({ preventScroll: true }); }
        else root.querySelector(".agc-score").textContent = scoreText();
      });
      reveal.addEventListener("click", () => {
        giveUp(k, false);
        show(k, { moved: false });
        root.focus({ preventScroll: true });
      });
      skip.addEventListener("click", () => {
        giveUp(k, true);
        show(Math.min(k + 1, last));
        root.focus({ preventScroll: true });
      });
      const row = make("div");
      row.append(check, " ", reveal, " ", skip);
      box.appendChild(row);
      for (const f of fields) {
        f.field.addEventListener("keydown", (event) => {
          event.stopPropagation(); // typing a number must not step the trace
          if (event.key === "Enter") check.click();
        });
      }
    }
    return box;
  }

  function showGrads(known) {
    for (const [id, t] of Object.entries(grads)) {
      t.textContent = "grad " + (id in known ? known[id] : never.has(id) ? "none" : "?");
      t.parentNode.classList.toggle("agc-unknown", !(id in known));
    }
  }

  function showPaths(target) {
    const found = paths[target];
    if (!found) return;
    clearFlow();
    showGrads(knownAfter(last)); // every gradient, as the pass leaves them
    svg.classList.add("agc-dim");
    for (const id of found.nodes) {
      const g = svg.getElementById(id);
      if (g) g.classList.add("agc-lit");
    }
    for (const id of [steps[0].node, target]) {
      const g = svg.getElementById(id);
      if (g) g.classList.add("agc-current");
    }
    for (const id of found.edges) {
      const g = svg.getElementById(id);
      if (g) g.classList.add("agc-lit", "agc-flow");
    }
    side.replaceChildren(make("pre", { "data-agc-paths": target }, found.lines.join("\n")),
      make("div", {}, "click another value, or press paths again to go back"));
  }
  function leavePaths() {
    pathsMode = false;
    pathsButton.setAttribute("aria-pressed", "false");
    show(current, { moved: false });
  }
  pathsButton.addEventListener("click", () => {
    if (pathsMode) { leavePaths(); return; }
    pathsMode = true;
    pathsButton.setAttribute("aria-pressed", "true");
    showPaths(steps[last].inputs.length ? steps[last].inputs[0].id : steps[0].node);
  });
  let pressed = null;
  body.addEventListener("pointerdown", (event) => { pressed = [event.clientX, event.clientY]; });
  body.addEventListener("click", (event) => {
    const moved = pressed && Math.hypot(event.clientX - pressed[0], event.clientY - pressed[1]);
    if (!pathsMode || moved > 4) return; // a drag moves the picture, a click picks a value
    const value = event.target.closest && event.target.closest("g.value");
    if (value) showPaths(value.id);
  });

  previous.addEventListener("click", () => { if (pathsMode) leavePaths(); show(current - 1); });
  next.addEventListener("click", () => { if (pathsMode) leavePaths(); show(current + 1); });
  slider.addEventListener("input", () => { if (pathsMode) leavePaths(); show(Number(slider.value) - 1); });
  root.addEventListener("keydown", (event) => {
    const keys = { ArrowLeft: current - 1, ArrowRight: current + 1, Home: 0, End: last };
    if (event.key === "Escape" && pathsMode) { leavePaths(); return; }
    if (event.key in keys && event.target.tagName !== "INPUT") {
      if (pathsMode) leavePaths();
      show(keys[event.key]);
      event.preventDefault();
    }
  });
  root.addEventListener("pointerdown", () => root.focus({ preventScroll: true }));
  const fromHash = () => {
    const match = /[#&]step=(\d+)/.exec(location.hash);
    return match ? Number(match[1]) - 1 : null;
  };
  if (options.hash) window.addEventListener("hashchange", () => {
    const k = fromHash();
    if (k !== null) show(k);
  });
  const start = options.hash && fromHash() !== null ? fromHash() : options.step || 0;
  show(start, { moved: false, fromModel: true });
  root.dataset.renderMs = (performance.now() - started).toFixed(1); // the first render's cost
  const narrow = () => body.classList.toggle("agc-stacked", (el.clientWidth || root.clientWidth) < 820);
  if (window.ResizeObserver) new ResizeObserver(narrow).observe(root);
  return {
    show: (k) => show(k, { fromModel: true }),
    get step() { return current; },
    get answers() { return answers.slice(); },
    root,
  };
}

// ---- the notebook widget (anywidget) ----------------------------------------------------------

function render({ model, el }) {
  const view = mount(el, model.get("data"), { // data and predict are set once, in Python
    step: model.get("step"),
    predict: model.get("predict"),
    answers: model.get("answers"),
    onStep: (k) => { model.set("step", k); model.save_changes(); },
    onAnswers: (list) => { model.set("answers", list); model.save_changes(); },
  });
  const moved = () => { if (model.get("step") !== view.step) view.show(model.get("step")); };
  model.on("change:step", moved);
  return () => model.off("change:step", moved);
}

export default { render };
