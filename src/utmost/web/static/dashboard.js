// utmost dashboard: sortable tables, and a journey's timeline scrolled to its conversion.
// Everything else on the pages works without script, except the evaluation page (evaluate.js),
// which reads a file in the browser.
//
// A table marked data-sortable has a button in each sortable heading (data-column = the
// index of the cell it sorts by in each body row). Cells sort by their data-value: as
// numbers when every value is one, else as text. The first click sorts numbers largest
// first and text A to Z; the next click reverses. aria-sort tells assistive technology.
"use strict";

function cellValue(row, column) {
  const cell = row.cells[column];
  return cell ? (cell.dataset.value ?? cell.textContent.trim()) : "";
}

function sortTable(table, button) {
  const column = Number(button.dataset.column);
  const heading = button.closest("th");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const numeric = rows.every((row) => cellValue(row, column) !== "" && !Number.isNaN(Number(cellValue(row, column))));
  const current = heading.getAttribute("aria-sort");
  const firstWay = numeric ? "descending" : "ascending";
  const way = current === firstWay ? (firstWay === "ascending" ? "descending" : "ascending") : firstWay;
  const sign = way === "ascending" ? 1 : -1;
  const compare = numeric
    ? (a, b) => Number(cellValue(a, column)) - Number(cellValue(b, column))
    : (a, b) => cellValue(a, column).localeCompare(cellValue(b, column));
  rows.sort((a, b) => sign * compare(a, b));  // stable: ties keep their order
  body.append(...rows);
  table.querySelectorAll("thead th[aria-sort]").forEach((th) => th.setAttribute("aria-sort", "none"));
  heading.setAttribute("aria-sort", way);
}

function makeSortable(table) {
  table.querySelectorAll("thead button[data-column]").forEach((button) => {
    button.addEventListener("click", () => sortTable(table, button));
  });
}

document.querySelectorAll("table[data-sortable]").forEach(makeSortable);

// A timeline wider than its frame (a phone, or many sessions) opens with its last conversion
// at the right edge, which is what the reader came to see, with as much of the path that led
// to it as fits on its left; the earlier sessions are a scroll away.
document.querySelectorAll(".timeline-wrap").forEach((wrap) => {
  const conversions = wrap.querySelectorAll("g.mark.conversion");
  const last = conversions[conversions.length - 1];
  if (!last || wrap.scrollWidth <= wrap.clientWidth) return;
  const beyond = last.getBoundingClientRect().right + 32 - wrap.getBoundingClientRect().right;
  if (beyond > 0) wrap.scrollLeft += beyond;
});

// A table marked data-csv="NAME.csv" gets a link that downloads it as CSV: its heading row,
// then each body row, a cell as its data-value (a number's every digit) or else its text; no
// value ("-Infinity", as the page marks a missing cost) is an empty field.
function csvField(text) {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function tableCsv(table) {
  const head = table.tHead.rows[table.tHead.rows.length - 1];
  const lines = [Array.from(head.cells, (cell) => csvField(cell.textContent.replace("↕", "").trim()))];
  for (const row of table.tBodies[0].rows) {
    lines.push(Array.from(row.cells, (cell) => {
      const value = cell.dataset.value ?? cell.textContent.trim();
      return csvField(value === "-Infinity" ? "" : value);
    }));
  }
  return lines.map((fields) => fields.join(",")).join("\r\n") + "\r\n";
}

function addCsvLink(table) {
  const link = document.createElement("a");
  link.textContent = `Download this table as CSV (${table.dataset.csv})`;
  link.href = "#";
  link.className = "csv";
  link.addEventListener("click", (event) => {
    event.preventDefault();
    const save = document.createElement("a");
    save.href = URL.createObjectURL(new Blob([tableCsv(table)], {type: "text/csv"}));
    save.download = table.dataset.csv;
    save.click();
    setTimeout(() => URL.revokeObjectURL(save.href), 0);
  });
  const where = table.closest(".table-wrap") ?? table;
  const paragraph = document.createElement("p");
  paragraph.className = "links";
  paragraph.append(link);
  where.after(paragraph);
}

document.querySelectorAll("table[data-csv]").forEach(addCsvLink);

// A page that draws a table after it has loaded (the evaluation's) makes it sortable and
// downloadable with these.
window.utmostTables = {makeSortable, addCsvLink};
