// The live training view: a network learning, step by step, in four views that change together.
//
// One ES module for the notebook widget (anywidget calls `render`; each button is a message to
// the kernel, whose answer is the next frame) and for the page a saved run replays with no
// kernel (`replay`, inlined by visualize/live_page.py). The Python side (visualize/
// training_view.py) sends `setup` (the classes, the grid's extent, the layers, the traced
// graph's picture as Graphviz SVG, the learning rate) and per frame the numbers: the loss and
// accuracy, the boundary grid (base64 bytes: per cell the class and how sure), the traced
// graph's box and edge sizes (RMS gradients) and the per-layer statistics of the parameters.

const SVG_NS = "http://www.w3.org/2000/svg";
const POINT = ["#1f5fa8", "#d9531e", "#2a8a3e", "#7b4fa8", "#b8862b", "#c03a76"]; // per class
const FILL = [[158, 202, 225], [253, 174, 107], [161, 217, 155], [188, 189, 220], [240, 212, 140],
  [240, 170, 200]]; // the boundary's cells, per class (lighter than the points)
const LOG_LOW = -4; // gradient sizes are coloured on log10 from 1e-4 ...
const LOG_HIGH = 1; // ... to 10 (a bigger one is as red as 10)
const RAMP = [[255, 247, 236], [253, 212, 158], [252, 141, 89], [215, 48, 31], [127, 0, 0]];
const NO_GRAD = "#d9d9d9"; // a gradient of exactly 0 (a dead unit)
const HEALTHY_RATIO = 1e-3; // the update/weight ratio of a healthy step, by rule of thumb
const PICK_PX = 9; // a click this close to a point picks it

const STYLE = `
.agl-root { font-family: Helvetica, Arial, sans-serif; font-size: 13px; color: #222;
  border: 1px solid #ddd; border-radius: 4px; padding: 8px; box-sizing: border-box;
  max-width: 100%; background: #fff; }
.agl-bar { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; margin-bottom: 8px; }
.agl-bar button { font-size: 13px; padding: 3px 10px; cursor: pointer; }
.agl-bar button:disabled { cursor: default; }
.agl-bar input[type=range] { width: 9em; }
.agl-status { font-variant-numeric: tabular-nums; margin-left: auto; white-space: nowrap; }
.agl-class { display: inline-flex; align-items: center; gap: 3px; cursor: pointer; }
.agl-swatch { display: inline-block; width: 11px; height: 11px; border-radius: 50%;
  border: 1px solid #333; }
.agl-error { color: #b00020; margin: 0 0 6px 0; }
.agl-error:empty { display: none; }
.agl-grid { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 8px; }
.agl-grid.agl-narrow { grid-template-columns: minmax(0, 1fr); }
.agl-panel { border: 1px solid #e4e4e4; border-radius: 3px; padding: 6px 8px; min-width: 0; }
.agl-panel h3 { font-size: 13px; margin: 0 0 4px 0; font-weight: bold; }
.agl-note { color: #555; font-size: 12px; margin: 4px 0 0 0; }
.agl-plane { position: relative; width: 100%; max-width: 360px; aspect-ratio: 1; margin: 0 auto; }
.agl-plane canvas, .agl-plane svg { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }
.agl-plane svg { cursor: crosshair; }
.agl-graph svg { display: block; width: 100%; height: auto; max-height: 300px; margin: 0 auto; }
svg.agl-curve, svg.agl-ratios { display: block; width: 100%; max-width: 560px; }
.agl-graph g.box { cursor: pointer; }
.agl-graph g.box.agl-open polygon { stroke: #000; stroke-width: 2.5; }
.agl-units { display: flex; flex-wrap: wrap; gap: 2px; margin-top: 4px; }
.agl-units span { display: inline-block; min-width: 30px; padding: 1px 2px; font-size: 11px;
  text-align: center; border: 1px solid #bbb; font-variant-numeric: tabular-nums; }
.agl-scale { display: flex; align-items: center; gap: 4px; font-size: 11px; color: #444;
  margin-top: 4px; flex-wrap: wrap; }
.agl-scale i { display: inline-block; width: 16px; height: 10px; border: 1px solid #bbb; }
.agl-layers { width: 100%; border-collapse: collapse; font-size: 12px;
  font-variant-numeric: tabular-nums; }
.agl-layers td, .agl-layers th { padding: 2px 4px; text-align: left; vertical-align: middle; }
.agl-layers th { font-weight: normal; color: #555; }
.agl-layers tr.agl-alarm td.agl-dead { color: #b00020; font-weight: bold; }
`;

function addStyle(el) {
  const root = el.getRootNode ? el.getRootNode() : document;
  const holder = root === document ? document.head : root;
  if (holder.querySelector && holder.querySelector("style[data-agl]")) return;
  const style = document.createElement("style");
  style.dataset.agl = "";
  style.textContent = STYLE;
  holder.appendChild(style);
}

function make(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function svgNode(tag, attributes = {}, text = "") {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
  if (text) node.textContent = text;
  return node;
}

function fmt(x, digits = 3) {
  if (x === null || x === undefined) return "not finite";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(1);
  const text = x.toPrecision(digits); // (trailing zeros after the point go: 0.300 -> 0.3)
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

function decode(text) { // base64 -> bytes
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

// ---- colours ----------------------------------------------------------------------------------

export function gradColour(size) { // an RMS gradient -> a colour of the ramp (log scale)
  if (size === null || size === undefined) return "#ffffff";
  if (size === 0) return NO_GRAD;
  const t = Math.min(1, Math.max(0, (Math.log10(size) - LOG_LOW) / (LOG_HIGH - LOG_LOW)));
  const at = t * (RAMP.length - 1);
  const k = Math.min(RAMP.length - 2, Math.floor(at));
  const f = at - k;
  const c = RAMP[k].map((v, j) => Math.round(v + f * (RAMP[k + 1][j] - v)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function scaleLegend() {
  const scale = make("div", { class: "agl-scale" });
  scale.append("gradient RMS:");
  for (let e = LOG_LOW; e <= LOG_HIGH; e++) {
    const swatch = make("i");
    swatch.style.background = gradColour(10 ** e);
    scale.append(swatch, `1e${e}`);
  }
  const zero = make("i");
  zero.style.background = NO_GRAD;
  scale.append(zero, "0 (none)");
  return scale;
}

// ---- the curve ---------------------------------------------------------------------------------

function lineChart(width, height) {
  const svg = svgNode("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  return { svg, width, height };
}

function drawCurve(chart, series) {
  const { svg, width, height } = chart;
  svg.replaceChildren();
  const left = 46, right = 40, top = 10, bottom = 28;
  const w = width - left - right, h = height - top - bottom;
  const steps = series.map((p) => p.step);
  const losses = series.map((p) => p.loss).filter((v) => v !== null && v > 0);
  const maxStep = Math.max(1, ...steps);
  const maxLoss = Math.max(1e-9, ...losses) * 1.05;
  const minLoss = Math.min(maxLoss / 1.05, ...losses);
  // a loss over orders of magnitude (a run that diverges) is drawn on a log scale
  const logScale = losses.length > 1 && maxLoss / minLoss > 100;
  const low = logScale ? Math.floor(Math.log10(minLoss)) : 0;
  const high = logScale ? Math.ceil(Math.log10(maxLoss)) : maxLoss;
  const x = (s) => left + (s / maxStep) * w;
  const yLoss = logScale
    ? (v) => top + h - ((Math.log10(Math.max(v, 10 ** low)) - low) / (high - low)) * h
    : (v) => top + h - (Math.min(v, maxLoss) / maxLoss) * h;
  const yAcc = (v) => top + h - v * h;
  svg.append(svgNode("rect", { x: left, y: top, width: w, height: h, fill: "#fafafa",
    stroke: "#ccc" }));
  for (let k = 0; k <= 4; k++) { // the axes' ticks: accuracy right, loss left
    const y = top + h - (k / 4) * h;
    svg.append(svgNode("line", { x1: left, x2: left + w, y1: y, y2: y, stroke: "#eee" }));
    svg.append(svgNode("text", { x: left + w + 4, y: y + 4, "font-size": 11, fill: "#d9531e" },
      `${k * 25}%`));
    if (!logScale) {
      svg.append(svgNode("text", { x: left - 4, y: y + 4, "text-anchor": "end", "font-size": 11,
        fill: "#1f5fa8" }, fmt((k / 4) * maxLoss, 2)));
    }
  }
  const every = Math.max(1, Math.ceil((high - low) / 5)); // a log scale's ticks: whole decades
  for (let e = low; logScale && e <= high; e += every) {
    svg.append(svgNode("text", { x: left - 4, y: yLoss(10 ** e) + 4, "text-anchor": "end",
      "font-size": 11, fill: "#1f5fa8" }, `1e${e}`));
  }
  svg.append(svgNode("text", { x: left + w / 2, y: height - 6, "text-anchor": "middle",
    "font-size": 11, fill: "#444" }, `step (0 to ${maxStep})` + (logScale ? "; loss on a log scale" : "")));
  const path = (ys, colour, dashed) => {
    let d = "", pen = "M";
    series.forEach((p, i) => {
      const v = ys[i];
      if (v === null) { pen = "M"; return; } // a diverged step breaks the line
      d += `${pen}${x(p.step).toFixed(1)},${v.toFixed(1)} `;
      pen = "L";
    });
    const line = svgNode("path", { d, fill: "none", stroke: colour, "stroke-width": 2 });
    if (dashed) line.setAttribute("stroke-dasharray", "5 3");
    svg.append(line);
    return line;
  };
  path(series.map((p) => (p.loss === null ? null : yLoss(p.loss))), "#1f5fa8", false)
    .setAttribute("class", "agl-loss");
  path(series.map((p) => (p.accuracy === null ? null : yAcc(p.accuracy))), "#d9531e", true)
    .setAttribute("class", "agl-accuracy");
  const diverged = series.some((p) => p.loss === null);
  if (diverged) {
    svg.append(svgNode("text", { x: left + w - 4, y: top + 14, "text-anchor": "end",
      "font-size": 12, fill: "#b00020", "font-weight": "bold" }, "diverged: loss not finite"));
  }
}

// ---- the boundary ------------------------------------------------------------------------------

function drawBoundary(canvas, setup, boundary) {
  const cells = setup.resolution;
  const context = canvas.getContext("2d");
  if (!boundary) { context.clearRect(0, 0, canvas.width, canvas.height); return; }
  const classes = decode(boundary.classes), sure = decode(boundary.sure);
  const grid = document.createElement("canvas");
  grid.width = grid.height = cells;
  const image = grid.getContext("2d").createImageData(cells, cells);
  for (let row = 0; row < cells; row++) { // row 0 of the data is the lowest y: drawn last
    for (let col = 0; col < cells; col++) {
      const i = row * cells + col, o = ((cells - 1 - row) * cells + col) * 4;
      const fill = FILL[classes[i] % FILL.length], a = 0.2 + 0.8 * (sure[i] / 255);
      for (let j = 0; j < 3; j++) image.data[o + j] = Math.round(255 + a * (fill[j] - 255));
      image.data[o + 3] = 255;
    }
  }
  grid.getContext("2d").putImageData(image, 0, 0);
  context.imageSmoothingEnabled = true;
  context.drawImage(grid, 0, 0, canvas.width, canvas.height);
}

function drawPoints(svg, setup, points, traced) {
  svg.replaceChildren();
  const [x0, x1, y0, y1] = setup.extent;
  points.X.forEach(([a, b], i) => {
    const cx = ((a - x0) / (x1 - x0)) * 100, cy = 100 - ((b - y0) / (y1 - y0)) * 100;
    const dot = svgNode("circle", { cx: cx.toFixed(2), cy: cy.toFixed(2), r: 1.5,
      fill: POINT[points.y[i] % POINT.length], stroke: "#fff", "stroke-width": 0.35,
      "data-index": i, class: "agl-point" });
    svg.append(dot);
    if (i === traced) {
      svg.append(svgNode("circle", { cx: cx.toFixed(2), cy: cy.toFixed(2), r: 3.2, fill: "none",
        stroke: "#000", "stroke-width": 0.6, class: "agl-traced" }));
    }
  });
}

// ---- the traced graph --------------------------------------------------------------------------

function parseSvg(text) {
  const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = document.importNode(parsed.documentElement, true);
  const natural = parseFloat(svg.getAttribute("width")) * (4 / 3); // Graphviz's points, as px
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  if (natural > 0) svg.style.maxWidth = `${Math.round(1.25 * natural)}px`; // never blown up
  return svg;
}

function styleGraph(holder, setup, graph) {
  const svg = holder.querySelector("svg");
  if (!svg || !graph) return;
  graph.boxes.forEach((size, b) => {
    const box = svg.querySelector(`#b${b}`);
    if (!box) return;
    const shapes = box.querySelectorAll("polygon");
    if (shapes.length) shapes[0].setAttribute("fill", gradColour(size));
    const texts = box.querySelectorAll("text");
    if (size !== null && texts.length) texts[texts.length - 1].textContent = `grad rms ${fmt(size)}`;
    box.dataset.size = size === null ? "" : String(size);
  });
  setup.graph.edges.forEach((id, k) => {
    const edge = svg.querySelector(`#${id}`);
    if (!edge) return;
    const size = graph.edges[k];
    const width = size === null ? 1 : 1 + 5 * Math.min(1, Math.max(0,
      (Math.log10(Math.max(size, 1e-12)) - LOG_LOW) / (LOG_HIGH - LOG_LOW)));
    const colour = size === null ? "#bbbbbb" : size === 0 ? NO_GRAD : gradColour(Math.max(size, 1e-4));
    for (const line of edge.querySelectorAll("path")) {
      line.setAttribute("stroke-width", width.toFixed(2));
      line.setAttribute("stroke", colour);
    }
    for (const head of edge.querySelectorAll("polygon")) {
      head.setAttribute("fill", colour);
      head.setAttribute("stroke", colour);
    }
  });
}

// ---- the parameters ----------------------------------------------------------------------------

function histogramSvg(hist, colour) {
  const counts = hist.counts, top = Math.max(1, ...counts), n = counts.length;
  const svg = svgNode("svg", { viewBox: `0 0 ${n * 4} 20`, width: 84, height: 22,
    preserveAspectRatio: "none" });
  counts.forEach((c, i) => {
    const h = (c / top) * 19;
    svg.append(svgNode("rect", { x: i * 4 + 0.3, y: 20 - h, width: 3.4, height: h, fill: colour }));
  });
  svg.append(svgNode("line", { x1: n * 2, x2: n * 2, y1: 0, y2: 20, stroke: "#999",
    "stroke-width": 0.4 }));
  return svg;
}

function drawRatios(chart, series, layers) {
  const { svg, width, height } = chart;
  svg.replaceChildren();
  const left = 46, right = 8, top = 20, bottom = 22;
  const w = width - left - right, h = height - top - bottom;
  const low = -6, high = 1; // log10 of the ratio
  const maxStep = Math.max(1, ...series.map((p) => p.step));
  const x = (s) => left + (s / maxStep) * w;
  const y = (r) => top + h - ((Math.min(high, Math.max(low, Math.log10(r))) - low) / (high - low)) * h;
  svg.append(svgNode("rect", { x: left, y: top, width: w, height: h, fill: "#fafafa", stroke: "#ccc" }));
  for (let e = low; e <= high; e += 2) {
    svg.append(svgNode("text", { x: left - 4, y: y(10 ** e) + 4, "text-anchor": "end",
      "font-size": 11, fill: "#444" }, `1e${e}`));
  }
  svg.append(svgNode("line", { x1: left, x2: left + w, y1: y(HEALTHY_RATIO), y2: y(HEALTHY_RATIO),
    stroke: "#2a8a3e", "stroke-dasharray": "4 3" }));
  svg.append(svgNode("text", { x: left + w - 4, y: y(HEALTHY_RATIO) + 13, "text-anchor": "end",
    "font-size": 11, fill: "#2a8a3e" }, "1e-3: a healthy step"));
  layers.forEach((name, k) => {
    let d = "", pen = "M";
    for (const p of series) {
      const r = p.ratios ? p.ratios[k] : null;
      if (r === null || r === undefined || !(r > 0)) { pen = "M"; continue; }
      d += `${pen}${x(p.step).toFixed(1)},${y(r).toFixed(1)} `;
      pen = "L";
    }
    svg.append(svgNode("path", { d, fill: "none", stroke: POINT[k % POINT.length],
      "stroke-width": 1.6 }));
    svg.append(svgNode("text", { x: left + 6 + k * 48, y: top - 6, "font-size": 11,
      fill: POINT[k % POINT.length] }, name));
  });
  svg.append(svgNode("text", { x: left + w / 2, y: height - 5, "text-anchor": "middle",
    "font-size": 11, fill: "#444" }, "update / weight, per layer, by step (log scale)"));
}

function shortName(name) { // layers.0 -> L0, as the graph's boxes are titled
  const m = /^layers\.(\d+)$/.exec(name);
  return m ? `L${m[1]}` : name || "(top)";
}

// ---- the view ----------------------------------------------------------------------------------

export function summary(frame) { // what the curves keep of a frame
  return {
    step: frame.step, loss: frame.loss, accuracy: frame.accuracy,
    ratios: frame.layers.map((l) => l.update_ratio),
  };
}

export function mount(el, setup, options = {}) {
  addStyle(el);
  const send = options.send || null; // null: a replay, no kernel to ask
  const root = make("div", { class: "agl-root", "data-agc-live": "" });
  const bar = make("div", { class: "agl-bar" });
  const error = make("p", { class: "agl-error" });
  const gridEl = make("div", { class: "agl-grid" });
  root.append(bar, error, gridEl);
  el.replaceChildren(root);

  const panel = (title) => {
    const p = make("div", { class: "agl-panel" });
    const h = make("h3", {}, title);
    p.append(h);
    gridEl.append(p);
    return p;
  };
  const curvePanel = panel("Loss (solid, left axis) and accuracy (dashed, right axis)");
  const curve = lineChart(460, 220);
  curve.svg.classList.add("agl-curve");
  curvePanel.append(curve.svg);
  const curveNote = make("p", { class: "agl-note" },
    "Of each step's forward pass over all the points, before its update.");
  curvePanel.append(curveNote);

  const planePanel = panel("Decision boundary");
  const plane = make("div", { class: "agl-plane" });
  const canvas = make("canvas", { width: 360, height: 360, class: "agl-boundary" });
  const overlay = svgNode("svg", { viewBox: "0 0 100 100", preserveAspectRatio: "none",
    class: "agl-points" });
  plane.append(canvas, overlay);
  planePanel.append(plane);
  const planeNote = make("p", { class: "agl-note" }, send
    ? "Click a point to trace it; click empty space to add a point of the chosen class; " +
      "shift-click a point to remove it. Paler: less sure."
    : "The classes the model predicts over the plane (paler: less sure); the ringed point is traced.");
  planePanel.append(planeNote);

  const graphPanel = panel("The traced sample's backward pass");
  const graphHolder = make("div", { class: "agl-graph" });
  const unitsTitle = make("p", { class: "agl-note" }, "Click a layer's box to see its units.");
  const units = make("div", { class: "agl-units" });
  graphPanel.append(graphHolder, scaleLegend(), unitsTitle, units);

  const paramPanel = panel("Parameters, per layer");
  const table = make("table", { class: "agl-layers" });
  const ratios = lineChart(460, 165);
  ratios.svg.classList.add("agl-ratios");
  paramPanel.append(table, ratios.svg);

  // the controls
  const button = (text, title) => {
    const b = make("button", { type: "button", title }, text);
    bar.append(b);
    return b;
  };
  let playing = false, pending = 0, current = null, series = [], openBox = null;
  let chosen = 0;
  const status = make("span", { class: "agl-status" });
  let play = null, pause = null, once = null, reset = null, lr = null, lrText = null;
  if (send) {
    play = button("▶ play", "train step after step");
    pause = button("❚❚ pause", "stop after the step in flight");
    once = button("step", "train one step");
    reset = button("reset", "the weights and the optimiser as at the start");
    const lrLabel = make("label", {}, "learning rate ");
    lr = make("input", { type: "range", min: "-4", max: "1", step: "0.05",
      "aria-label": "learning rate (log10)" });
    lrText = make("span", { class: "agl-lr" });
    lrLabel.append(lr, " ", lrText);
    bar.append(lrLabel);
    const classes = make("span", {}, "add: ");
    setup.classes.forEach((name, k) => {
      const label = make("label", { class: "agl-class" });
      const radio = make("input", { type: "radio", name: "agl-class", value: String(k) });
      radio.name = `agl-class-${Math.random().toString(36).slice(2)}`;
      if (k === 0) radio.checked = true;
      radio.addEventListener("change", () => { chosen = k; });
      const swatch = make("span", { class: "agl-swatch" });
      swatch.style.background = POINT[k % POINT.length];
      label.append(radio, swatch, name);
      classes.append(label, " ");
    });
    classes.querySelectorAll("input").forEach((r) => { r.name = classes.querySelector("input").name; });
    bar.append(classes);
  }
  bar.append(status);

  const ask = (request) => { // a step waits for the last answer (one in flight); the rest go
    if (!send || (request.do === "step" && pending > 0)) return false;
    pending += 1;
    root.dataset.pending = String(pending);
    send(request);
    return true;
  };
  const refreshButtons = () => {
    if (!send) return;
    play.disabled = playing;
    pause.disabled = !playing;
    once.disabled = playing;
  };
  if (send) {
    play.addEventListener("click", () => { playing = true; refreshButtons(); ask({ do: "step" }); });
    pause.addEventListener("click", () => { playing = false; refreshButtons(); });
    once.addEventListener("click", () => ask({ do: "step" }));
    reset.addEventListener("click", () => { playing = false; refreshButtons(); ask({ do: "reset" }); });
    lr.addEventListener("input", () => { lrText.textContent = fmt(10 ** Number(lr.value), 2); });
    lr.addEventListener("change", () => send({ do: "lr", value: 10 ** Number(lr.value) }));
    refreshButtons();
  }

  overlay.addEventListener("click", (event) => {
    if (!current || !setup.two_d) return;
    const box = overlay.getBoundingClientRect();
    const px = event.clientX - box.left, py = event.clientY - box.top;
    let nearest = null, best = Infinity;
    current.points.X.forEach(([a, b], i) => {
      const [x0, x1, y0, y1] = setup.extent;
      const qx = ((a - x0) / (x1 - x0)) * box.width, qy = (1 - (b - y0) / (y1 - y0)) * box.height;
      const d = Math.hypot(qx - px, qy - py);
      if (d < best) { best = d; nearest = i; }
    });
    if (!send) return;
    if (nearest !== null && best <= PICK_PX) {
      ask(event.shiftKey ? { do: "remove", index: nearest } : { do: "trace", index: nearest });
    } else if (!event.shiftKey) {
      const [x0, x1, y0, y1] = setup.extent;
      const x = x0 + (px / box.width) * (x1 - x0), y = y0 + (1 - py / box.height) * (y1 - y0);
      ask({ do: "add", x: [x, y], label: chosen });
    }
  });

  const showUnits = () => {
    units.replaceChildren();
    graphHolder.querySelectorAll("g.box").forEach((g) => g.classList.toggle("agl-open", g.id === openBox));
    if (!openBox || !current || !current.graph.units[openBox]) {
      unitsTitle.textContent = "Click a layer's box to see its units.";
      return;
    }
    const sizes = current.graph.units[openBox];
    const b = Number(openBox.slice(1));
    const dead = sizes.filter((s) => s === 0).length;
    unitsTitle.textContent = `${setup.graph.boxes[b]}: ${sizes.length} units, the RMS gradient ` +
      `of each one's weights` + (dead ? ` (${dead} get none: dead)` : "");
    sizes.forEach((s, k) => {
      const cell = make("span", { title: `unit ${k}: ${fmt(s)}` }, fmt(s, 2));
      cell.style.background = gradColour(s);
      if (Math.log10(Math.max(s, 1e-12)) > -0.5) cell.style.color = "#fff";
      units.append(cell);
    });
  };
  const drawGraphPicture = () => {
    graphHolder.replaceChildren();
    if (!setup.graph) return;
    const svg = parseSvg(setup.graph.svg);
    graphHolder.append(svg);
    svg.querySelectorAll("g.box").forEach((g) => {
      g.addEventListener("click", () => {
        openBox = openBox === g.id ? null : g.id;
        showUnits();
      });
    });
  };
  drawGraphPicture();

  const drawLayers = (frame) => {
    table.replaceChildren();
    const head = make("tr");
    for (const h of ["layer", "weights", "gradients", "w rms", "grad rms", "update/w", "dead"]) {
      head.append(make("th", {}, h));
    }
    table.append(head);
    frame.layers.forEach((layer) => {
      const row = make("tr");
      const cell = (child, cls) => {
        const td = make("td", cls ? { class: cls } : {});
        td.append(child);
        row.append(td);
      };
      cell(shortName(layer.name));
      cell(histogramSvg(layer.weights, "#1f5fa8"));
      cell(histogramSvg(layer.grads, "#d9531e"));
      cell(fmt(layer.weight_rms));
      cell(fmt(layer.grad_rms));
      cell(layer.update_ratio === null ? "-" : fmt(layer.update_ratio, 2));
      cell(`${Math.round(100 * layer.dead)}%`, "agl-dead");
      if (layer.dead >= 0.5) row.classList.add("agl-alarm");
      row.title = `weights in ±${fmt(layer.weights.range)}, gradients in ±${fmt(layer.grads.range)}`;
      table.append(row);
    });
  };

  // two columns only where each panel gets 450 px (a notebook's column is narrower: one)
  const narrow = () => gridEl.classList.toggle("agl-narrow", (el.clientWidth || root.clientWidth) < 940);
  if (window.ResizeObserver) new ResizeObserver(narrow).observe(root);
  narrow();

  let updates = 0;
  const view = {
    root,
    show(frame, shownSeries) { // draw one frame, with the curves' points up to it
      current = frame;
      series = shownSeries;
      const traced = frame.graph ? frame.graph.traced : null;
      drawCurve(curve, series);
      drawBoundary(canvas, setup, frame.boundary);
      if (setup.two_d) drawPoints(overlay, setup, frame.points, traced);
      styleGraph(graphHolder, setup, frame.graph);
      showUnits();
      drawLayers(frame);
      drawRatios(ratios, series, setup.layers.map(shortName));
      const acc = frame.accuracy === null ? "-" : `${Math.round(100 * frame.accuracy)}%`;
      status.textContent = `step ${frame.step} · loss ${fmt(frame.loss)} · accuracy ${acc}` +
        ` · ${frame.points.X.length} points · traced #${traced}`;
      graphPanel.querySelector("h3").textContent =
        `The traced sample's backward pass (#${traced}, its loss ${fmt(frame.graph.loss)})`;
      updates += 1;
      root.dataset.updates = String(updates);
      root.dataset.step = String(frame.step);
      root.dataset.seq = String(frame.seq === undefined ? "" : frame.seq);
      root.dataset.traced = String(traced);
      root.dataset.points = String(frame.points.X.length);
    },
    arrived(frame, shownSeries) { // the kernel's answer: draw it, and ask for more when playing
      pending = Math.max(0, pending - 1); // (a frame Python sent unasked counts for none)
      root.dataset.pending = String(pending);
      view.show(frame, shownSeries);
      if (playing) ask({ do: "step" });
    },
    setSetup(next) {
      const pictureChanged = !setup.graph || !next.graph || next.graph.svg !== setup.graph.svg;
      setup = next;
      if (pictureChanged) drawGraphPicture();
      if (lr) {
        lr.value = String(Math.log10(setup.lr));
        lrText.textContent = fmt(setup.lr, 2);
      }
      if (current) view.show(current, series);
    },
    setError(text) {
      error.textContent = text;
      if (text) { playing = false; pending = 0; refreshButtons(); }
    },
  };
  if (lr) { lr.value = String(Math.log10(setup.lr)); lrText.textContent = fmt(setup.lr, 2); }
  return view;
}

// ---- the replay of a saved run ---------------------------------------------------------------

export function seriesUpTo(frames, k) { // the curves of frames 0..k (a reset starts them anew)
  let start = 0;
  for (let i = 1; i <= k; i++) if (frames[i].step < frames[i - 1].step) start = i;
  return frames.slice(start, k + 1).map(summary);
}

export function replay(el, record) {
  const host = make("div");
  const bar = make("div", { class: "agl-bar agl-player" });
  const playButton = make("button", { type: "button" }, "▶ play");
  const slider = make("input", { type: "range", min: "0", max: String(record.frames.length - 1),
    value: "0", "aria-label": "frame" });
  const counter = make("span", { class: "agl-counter" });
  bar.append(playButton, slider, counter);
  el.replaceChildren(bar, host);
  addStyle(el);
  const view = mount(host, record.setup, {});
  let k = 0, timer = null;
  const show = (i) => {
    k = Math.max(0, Math.min(record.frames.length - 1, i));
    const frame = { ...record.frames[k], points: record.datasets[record.frames[k].data] };
    view.show(frame, seriesUpTo(record.frames, k));
    slider.value = String(k);
    counter.textContent = `frame ${k + 1} of ${record.frames.length}`;
    el.dataset.frame = String(k);
  };
  const stop = () => { clearInterval(timer); timer = null; playButton.textContent = "▶ play"; };
  playButton.addEventListener("click", () => {
    if (timer) { stop(); return; }
    if (k >= record.frames.length - 1) show(0);
    playButton.textContent = "❚❚ pause";
    timer = setInterval(() => {
      show(k + 1);
      if (k >= record.frames.length - 1) stop(); // at the last frame, the button says play
    }, 120);
  });
  slider.addEventListener("input", () => { stop(); show(Number(slider.value)); });
  const fromHash = /[#&]frame=(\d+)/.exec(location.hash); // #frame=K opens frame K (from 1)
  show(fromHash ? Number(fromHash[1]) - 1 : 0);
  return { show, get frame() { return k; } };
}

// ---- the notebook widget (anywidget) --------------------------------------------------------

function render({ model, el }) {
  let series = [];
  const view = mount(el, model.get("setup"), { send: (request) => model.send(request) });
  const shown = () => {
    const frame = model.get("frame");
    if (series.length && frame.step < series[series.length - 1].step) series = []; // a reset
    if (!series.length || series[series.length - 1].step !== frame.step) series.push(summary(frame));
    return frame;
  };
  const first = shown();
  view.show(first, series);
  const arrived = () => { const frame = shown(); view.arrived(frame, series); };
  const setupChanged = () => view.setSetup(model.get("setup"));
  const errorChanged = () => view.setError(model.get("error"));
  model.on("change:frame", arrived);
  model.on("change:setup", setupChanged);
  model.on("change:error", errorChanged);
  return () => {
    model.off("change:frame", arrived);
    model.off("change:setup", setupChanged);
    model.off("change:error", errorChanged);
  };
}

export default { render };
