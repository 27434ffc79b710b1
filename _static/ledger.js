// The evidence ledger (appendix): filter its rows by where a claim was checked and by
// verdict, show only the deciding rows, and sort by any column (click its header).
// The table is plain HTML (pandas); without JavaScript, or in JupyterLab, it reads the same.
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table.ledger")) {
    const headers = Array.from(table.querySelectorAll("thead th")).map(th => th.textContent.trim());
    const col = name => headers.indexOf(name);
    const rows = Array.from(table.querySelectorAll("tbody tr"));
    const cell = (row, i) => (row.children[i] ? row.children[i].textContent.trim() : "");
    const verdictOf = row => cell(row, col("verdict")).replace(" (decides)", "");

    const bar = document.createElement("div");
    bar.className = "ledger-filters";
    const select = (label, values) => {
      const el = document.createElement("select");
      el.setAttribute("aria-label", label);
      el.append(new Option(`${label}: all`, ""));
      for (const v of values) el.append(new Option(v, v));
      bar.append(el);
      return el;
    };
    const where = select("checked in", [...new Set(rows.map(r => cell(r, col("checked in"))))].sort());
    const verdict = select("verdict", [...new Set(rows.map(verdictOf))].sort());
    const decidingLabel = document.createElement("label");
    const deciding = document.createElement("input");
    deciding.type = "checkbox";
    decidingLabel.append(deciding, " deciding rows only");
    const count = document.createElement("span");
    count.className = "ledger-count";
    bar.append(decidingLabel, count);
    table.before(bar);

    const apply = () => {
      let shown = 0;
      for (const row of rows) {
        const ok = (!where.value || cell(row, col("checked in")) === where.value)
          && (!verdict.value || verdictOf(row) === verdict.value)
          && (!deciding.checked || cell(row, col("verdict")).endsWith("(decides)"));
        row.hidden = !ok;
        shown += ok;
      }
      count.textContent = `${shown} of ${rows.length} rows`;
    };
    for (const el of [where, verdict, deciding]) el.addEventListener("change", apply);
    apply();

    const body = table.querySelector("tbody");
    table.querySelectorAll("thead th").forEach((th, i) => {
      th.style.cursor = "pointer";
      th.title = "sort by this column";
      let ascending = true;
      th.addEventListener("click", () => {
        const sorted = rows.slice().sort((a, b) =>
          cell(a, i).localeCompare(cell(b, i), undefined, {numeric: true}) * (ascending ? 1 : -1));
        ascending = !ascending;
        body.append(...sorted);
      });
    });
  }
});
