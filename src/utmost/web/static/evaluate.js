// utmost evaluation page: the truth file picked here is read in the browser (FileReader) and
// posted, with the form's options, to /api/evaluate under the page's own session; the answer is
// drawn as the other pages draw theirs. Tables keep every digit of a number in data-value ("-Infinity"
// where there is none), sort and download as CSV (dashboard.js); the chart is grouped bars in an
// SVG whose every bar carries data-model, data-key, data-value and a <title>, as utmost.web.charts
// draws them on the server, the truth's bar first in each group.
"use strict";

(() => {
  const form = document.getElementById("evaluate-form");
  const section = document.getElementById("evaluation");
  const problem = document.getElementById("evaluate-error");
  const working = document.getElementById("evaluate-working");
  if (!form || !section) return;
  const palette = JSON.parse(section.dataset.palette);
  const truthColor = section.dataset.truthColor;
  const SVG = "http://www.w3.org/2000/svg";
  const TRUTH = "truth";

  // --- asking -------------------------------------------------------------------------------

  // The form's options as /api/evaluate takes them: the ticked models joined by commas, first.
  function question() {
    const params = new URLSearchParams();
    const models = new FormData(form).getAll("models");
    if (models.length) params.set("models", models.join(","));
    for (const [name, value] of new FormData(form)) {
      if (name !== "truth" && name !== "models" && value !== "") params.append(name, value);
    }
    return params;
  }

  function readBytes(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsArrayBuffer(file);
    });
  }

  function fail(message) {
    problem.textContent = message ?? "";
    problem.hidden = !message;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.elements.truth.files[0];
    const params = question();
    if (!file) return fail("Pick the truth file (truth.json) that utmost simulate wrote.");
    if (!params.has("models")) return fail("Tick at least one model.");
    fail(null);
    working.hidden = false;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const body = await readBytes(file);
      const response = await fetch(`/api/evaluate?${params}`, {
        method: "POST", body, credentials: "same-origin", headers: {"Content-Type": "application/json"},
      });
      const answer = await response.json().catch(() => null);
      if (!response.ok) {
        section.hidden = true;
        return fail(answer?.error?.message ?? `The server answered ${response.status}.`);
      }
      history.replaceState(null, "", `/evaluate?${params}`);
      draw(answer, file.name);
    } catch (error) {
      fail(`${file.name}: ${error.message}`);
    } finally {
      working.hidden = true;
      button.disabled = false;
    }
  });

  // --- numbers as people read them ---------------------------------------------------------------

  const places = (digits) => (value) =>
    value.toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits});
  const two = places(2);
  const one = places(1);
  const count = (value) => value ? two(value) : "·";
  const exact = (value) => value === null || value === undefined ? "-Infinity" : String(value);
  const label = (key) => Object.values(key).join(" · ");

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value !== undefined && value !== null) node.setAttribute(name, value);
    }
    node.append(...children);
    return node;
  }

  function heading(text, column, sorted = "none") {
    return element("th", {scope: "col", "aria-sort": sorted},
      element("button", {type: "button", "data-column": String(column)}, text));
  }

  function number(metric, value, text, model) {
    return element("td", {"data-metric": metric, "data-model": model, "data-value": exact(value)},
      value === null || value === undefined ? "·" : text);
  }

  function table(id, caption, headings, rows, csv) {
    const wrap = element("div", {class: "table-wrap", role: "region", "aria-labelledby": `${id}-caption`, tabindex: "0"});
    const found = element("table", {id, class: "numbers", "data-sortable": "", "data-csv": csv},
      element("caption", {id: `${id}-caption`}, caption),
      element("thead", {}, element("tr", {}, ...headings)),
      element("tbody", {}, ...rows));
    wrap.append(found);
    return wrap;
  }

  // --- the answer ------------------------------------------------------------------------------

  function draw(answer, fileName) {
    section.replaceChildren();
    section.hidden = false;
    const models = answer.models;
    const colors = new Map([[TRUTH, truthColor], ...models.map((m, n) => [m, palette[n % palette.length]])]);
    const by = answer.by.join(" · ");
    const truth = answer.truth;
    const counted = answer.database;
    section.append(
      element("h2", {id: "evaluation-title"},
        `${truth.conversions.toLocaleString("en-US")} “${answer.conversion}” conversions in truth`),
      element("p", {class: "summary"},
        `${fileName}: scenario ${truth.scenario}, seed ${truth.seed}. ${two(truth.baseline)} would have happened ` +
        `anyway (the baseline); ${two(truth.caused)} were caused by the channels, by ${by}. This project counts ` +
        `${counted.conversions.toLocaleString("en-US")} (${counted.converted_without_touchpoints.toLocaleString("en-US")} ` +
        "without touchpoints, credited to (none)). TVD: half the summed gaps between a model's channel shares " +
        "and the truth's, in percentage points (0: the right split); rank ρ: Spearman's, between credit and " +
        "the truth; inflation: credited to channels ÷ caused by them (1×: as many as they caused)."));
    const notes = answer.scores.flatMap((s) => Object.entries(s.why_null)
      .filter(([name]) => name !== "max_error_pp")
      .map(([name, why]) => element("li", {}, `${s.model}: ${name.replace("_pp", "").replaceAll("_", " ")} undefined: ${why}`)));
    section.append(drawScores(answer));
    if (notes.length) section.append(element("ul", {class: "notes"}, ...notes));
    section.append(legend(colors), drawChart(answer, colors), drawChannels(answer));
    section.querySelectorAll("table").forEach((found) => {
      window.utmostTables.makeSortable(found);
      window.utmostTables.addCsvLink(found);
    });
  }

  function drawScores(answer) {
    const names = ["Model", "TVD (pp)", "Largest error (pp)", `On ${answer.by.join(" · ")}`, "Rank ρ", "Inflation",
      "(none)", "(baseline)"];
    const headings = names.map((name, n) => heading(name, n, n === 1 ? "ascending" : "none"));
    const rows = answer.scores.map((s) => element("tr", {"data-model": s.model},
      element("th", {scope: "row", "data-value": s.model}, s.model),
      number("tvd_pp", s.tvd_pp, one(s.tvd_pp ?? 0)),
      number("max_error_pp", s.max_error_pp, one(s.max_error_pp ?? 0)),
      element("td", {"data-metric": "max_error_channel", "data-value": s.max_error_channel ? label(s.max_error_channel) : ""},
        s.max_error_channel ? label(s.max_error_channel) : "·"),
      number("rank_correlation", s.rank_correlation, two(s.rank_correlation ?? 0)),
      number("inflation", s.inflation, `${two(s.inflation ?? 0)}×`),
      number("none", s.none, count(s.none)),
      number("baseline", s.baseline, count(s.baseline))));
    return table("scores", "Each model against the truth, the closest split first. Select a heading to sort.",
      headings, rows, "evaluation-scores.csv");
  }

  function drawChannels(answer) {
    const models = answer.models;
    const names = [...answer.by, "Truth (Shapley)", "Removal", "Truth share", ...models, "Note"];
    const headings = names.map((name, n) => heading(name, n, n === answer.by.length ? "descending" : "none"));
    const rows = answer.channels.map((c) => element("tr", {"data-key": JSON.stringify(Object.values(c.key))},
      ...Object.values(c.key).map((part) => element("th", {scope: "row", "data-value": part}, part)),
      number("shapley", c.shapley, count(c.shapley)),
      number("removal", c.removal, count(c.removal)),
      number("truth_share", c.truth_share, `${one((c.truth_share ?? 0) * 100)}%`),
      ...models.map((m) => number("credit", c.credit[m], count(c.credit[m]), m)),
      element("td", {"data-metric": "note"}, !c.in_truth ? "not in the truth" : c.seen ? "" : "no landing")));
    return table("channels", `Per ${answer.by.join(" · ")}: the conversions it caused in truth (its Shapley value; ` +
      "removal: those lost without it alone), and each model's credit. Select a heading to sort.",
      headings, rows, "evaluation-channels.csv");
  }

  function legend(colors) {
    const list = element("ul", {class: "legend", "aria-label": "The truth and the models, one colour each"});
    for (const [name, color] of colors) {
      const swatch = element("span", {class: "swatch"});
      swatch.style.background = color;
      list.append(element("li", {"data-model": name}, swatch, name));
    }
    return list;
  }

  // --- the chart ---------------------------------------------------------------------------------

  function svg(tag, attributes = {}, text = null) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== null) node.textContent = text;
    return node;
  }

  function step(span) {
    const raw = span / 5;
    const power = 10 ** Math.floor(Math.log10(raw));
    return [1, 2, 2.5, 5, 10].map((f) => f * power).find((s) => s >= raw);
  }

  function drawChart(answer, colors) {
    const keys = answer.channels.map((c) => label(c.key));
    const series = [[TRUTH, answer.channels.map((c) => c.shapley)],
      ...answer.models.map((m) => [m, answer.channels.map((c) => c.credit[m])])];
    const values = series.flatMap(([, found]) => found);
    const top = Math.max(1, ...values) * 1.05;
    const bottom = Math.min(0, ...values) * 1.05;
    const rotate = keys.length > 8 || Math.max(0, ...keys.map((k) => k.length)) > 14;
    const width = 960, height = 400 + (rotate ? 60 : 0);
    const left = 78, right = 12, above = 16, below = 40 + (rotate ? 60 : 0);
    const plotWidth = width - left - right, plotHeight = height - above - below;
    const y = (value) => above + (top - value) / (top - bottom) * plotHeight;
    const title = `Conversions per ${answer.by.join(" · ")}: caused in truth, then credited by each model`;
    const root = svg("svg", {xmlns: SVG, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title,
      "font-family": getComputedStyle(document.body).fontFamily, "font-size": 13});
    root.append(svg("title", {}, title), svg("rect", {x: left, y: above, width: plotWidth, height: plotHeight, fill: "#ffffff"}));
    const axisY = svg("g", {class: "axis y"});
    const every = step(top - bottom);
    for (let tick = Math.ceil(bottom / every) * every; tick <= top; tick += every) {
      axisY.append(svg("line", {x1: left, x2: width - right, y1: y(tick), y2: y(tick), stroke: tick ? "#e4e7eb" : "#9aa5b1"}),
        svg("text", {x: left - 8, y: y(tick) + 4, "text-anchor": "end", fill: "#1f2933"},
          Number.isInteger(tick) ? tick.toLocaleString("en-US") : two(tick)));
    }
    axisY.append(svg("text", {x: 16, y: above + plotHeight / 2, "text-anchor": "middle", fill: "#1f2933",
      transform: `rotate(-90 16 ${above + plotHeight / 2})`}, "conversions"));
    const group = plotWidth / Math.max(keys.length, 1);
    const inner = group * 0.8;
    const bar = inner / series.length;
    const axisX = svg("g", {class: "axis x"});
    keys.forEach((key, n) => {
      const x = left + n * group + group / 2;
      const text = svg("text", {x, y: height - below + 18, "text-anchor": rotate ? "end" : "middle", fill: "#1f2933"},
        key.length > 40 ? `${key.slice(0, 39)}…` : key);
      if (rotate) text.setAttribute("transform", `rotate(-30 ${x} ${height - below + 18})`);
      axisX.append(text);
    });
    const plot = svg("g", {class: "plot"});
    series.forEach(([model, found], s) => {
      const drawn = svg("g", {class: `series serie-${s}`, "data-model": model});
      found.forEach((value, n) => {
        const x = left + n * group + (group - inner) / 2 + s * bar;
        const g = svg("g", {class: "bar", "data-model": model, "data-key": keys[n], "data-value": String(value)});
        g.append(svg("rect", {x: x + 1, y: Math.min(y(value), y(0)), width: Math.max(bar - 2, 1),
          height: Math.abs(y(0) - y(value)), fill: colors.get(model)}),
        svg("title", {}, `${model} · ${keys[n]}: ${two(value)}`));
        drawn.append(g);
      });
      plot.append(drawn);
    });
    root.append(axisY, axisX, plot);
    const scroll = element("div", {class: "chart-scroll", role: "region", "aria-label": "Truth and credit chart", tabindex: "0"});
    scroll.append(root);
    return element("figure", {class: "chart", id: "chart-channels"}, scroll,
      element("figcaption", {}, `Per ${answer.by.join(" · ")}: the conversions it caused in truth (Shapley), ` +
        "then each model's credit, in the legend's colours."));
  }
})();
