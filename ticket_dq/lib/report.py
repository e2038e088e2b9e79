"""Charts (matplotlib, Agg backend: no display) and the self-contained HTML report of one day.

The same PNGs appear in the Dagster UI (asset metadata, as markdown with an embedded base64 image)
and in ``ticket-dq report --date D`` (inline ``data:`` URIs, so the HTML file travels alone).
"""

from __future__ import annotations

import base64
import io
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")  # before pyplot: render to memory, never open a window
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from jinja2 import Environment  # noqa: E402
from markupsafe import Markup  # noqa: E402

from ticket_dq.lib import complaints, latency, messages, metrics  # noqa: E402

# (column, label, colour, marker, size): distinct markers and sizes so equal values stay visible
PARTS = (("accuracy", "accuracy", "tab:blue", "s", 9), ("recall", "recall", "tab:orange", "D", 7),
         ("closed_loop_rate", "closed loop", "tab:green", "^", 7), ("q_score", "Q", "black", "o", 5))


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def markdown_image(png: bytes, alt: str) -> str:
    return f"![{alt}]({data_uri(png)})"


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                       [schema, name]).fetchone()[0] > 0


def chart_quality_over_time(rows: list[dict], until: date | None = None) -> bytes:
    """Q and its three parts per day (missing values are gaps, not zeros)."""
    rows = [r for r in rows if until is None or r["metric_date"] <= until]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    days = [r["metric_date"] for r in rows]
    for col, label, color, marker, size in PARTS:
        vals = [float("nan") if r[col] is None else r[col] for r in rows]
        ax.plot(days, vals, marker=marker, markersize=size, label=label, color=color,
                linewidth=2.2 if col == "q_score" else 1.3)
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, len(days) // 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    if len(days) == 1:
        ax.set_xlim(days[0] - timedelta(days=1), days[0] + timedelta(days=1))
    ax.set_ylim(-0.02, 1.05)
    ax.set_title("Q = 0.3 accuracy + 0.3 recall + 0.4 closed-loop rate")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8, ncol=4)
    if not rows:
        ax.text(0.5, 0.5, "no data yet", ha="center", transform=ax.transAxes)
    fig.autofmt_xdate()
    return _png(fig)


def breakdown_counts(con: duckdb.DuckDBPyConnection, dimension: str, day: date | None = None) -> list[tuple]:
    """(value, confirmed, false_positive, pending) summed over all days, or one day."""
    if not table_exists(con, metrics.BREAKDOWN_TABLE):
        return []
    return con.execute(
        f"SELECT value, sum(confirmed), sum(false_positive), sum(pending) FROM {metrics.BREAKDOWN_TABLE} "
        "WHERE dimension = $dim AND ($day IS NULL OR metric_date = $day) AND alerts > 0 "
        "GROUP BY value ORDER BY sum(alerts) DESC, value", {"dim": dimension, "day": day}).fetchall()


def chart_issues_by(con: duckdb.DuckDBPyConnection, day: date | None = None) -> bytes:
    """Alerts by category and by team, split into confirmed / false positive / pending."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [3, 2]})
    for ax, dim in zip(axes, ("category", "team")):
        data = breakdown_counts(con, dim, day)
        labels = [d[0] for d in data][::-1]
        left = [0] * len(labels)
        for idx, (name, color) in enumerate((("confirmed", "tab:green"), ("false positive", "tab:red"),
                                             ("pending", "tab:gray")), start=1):
            vals = [int(d[idx] or 0) for d in data][::-1]
            ax.barh(labels, vals, left=left, color=color, label=name)
            left = [a + b for a, b in zip(left, vals)]
        ax.set_title(f"alerts by {dim}" + (f" ({day})" if day else " (all days)"), fontsize=10)
        ax.tick_params(axis="y", labelsize=7)
        if not data:
            ax.text(0.5, 0.5, "no alerts", ha="center", transform=ax.transAxes)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _png(fig)


# Text left, numbers right (class "num", tabular figures). The font stack names CJK faces and ends in
# a generic family, so Chinese renders wherever any of them is installed (Debian: fonts-noto-cjk).
FONT_STACK = ('system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", '
              '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif')

# Filter and sort for the alerts table: plain JavaScript inside the file, nothing fetched.
_ALERTS_JS = """
(function () {
  var table = document.getElementById('alerts');
  if (!table || !table.tBodies.length) return;
  var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
  var heads = table.tHead.rows[0].cells, box = document.getElementById('alerts-filter');
  var count = document.getElementById('alerts-count');
  var selects = Array.prototype.slice.call(document.querySelectorAll('select[data-col]'));
  selects.forEach(function (s) {
    var seen = {};
    rows.forEach(function (r) { seen[r.cells[+s.dataset.col].textContent] = 1; });
    Object.keys(seen).sort().forEach(function (v) {
      var o = document.createElement('option'); o.textContent = v; s.appendChild(o);
    });
  });
  function apply() {
    var q = box.value.trim().toLowerCase(), shown = 0;
    rows.forEach(function (r) {
      var ok = !q || r.textContent.toLowerCase().indexOf(q) >= 0;
      selects.forEach(function (s) { if (s.value && r.cells[+s.dataset.col].textContent !== s.value) ok = false; });
      r.hidden = !ok; if (ok) shown++;
    });
    count.textContent = shown + ' of ' + rows.length + ' shown';
  }
  function key(cell, num) {
    var t = cell.textContent.trim();
    if (!num) return t;
    var v = parseFloat(t.replace(/,/g, ''));
    return isNaN(v) ? -Infinity : v;
  }
  Array.prototype.forEach.call(heads, function (th, i) {
    th.tabIndex = 0; th.title = 'sort';
    th.addEventListener('click', function () {
      var asc = th.getAttribute('aria-sort') !== 'ascending', num = th.classList.contains('num');
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      rows.sort(function (a, b) {
        var x = key(a.cells[i], num), y = key(b.cells[i], num);
        var c = num ? (x > y) - (x < y) : String(x).localeCompare(String(y), 'zh');
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  box.addEventListener('input', apply);
  selects.forEach(function (s) { s.addEventListener('change', apply); });
  apply();
})();
"""

_TEMPLATE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>ticket_dq data quality report {{ day }}</title>
<style>
body{font-family:{{ font_stack }};margin:2em;max-width:1500px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.ts{white-space:nowrap}
#alerts td:last-child{min-width:26em}
th{background:#f3f3f3}
#alerts th{cursor:pointer;user-select:none}
#alerts th[aria-sort=ascending]::after{content:" \\25B2"}
#alerts th[aria-sort=descending]::after{content:" \\25BC"}
.controls{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;font-size:13px}
.kpi{display:inline-block;margin:0 1.5em 1em 0}.kpi b{font-size:28px;display:block}
.muted{color:#777;font-size:12px}
</style></head><body>
<h1>Data quality report — {{ day }}</h1>
<p class="muted">Generated {{ generated }} from {{ warehouse }} (read-only). Definitions: docs/evaluation.md.</p>
{% if m %}
<div>
{% for label, key in kpis %}<span class="kpi">{{ label }}<b>{{ fmt(m[key]) }}</b></span>{% endfor %}
</div>
<table><tr>{% for c in cols %}<th class="num">{{ c }}</th>{% endfor %}</tr>
<tr>{% for c in cols %}<td class="num">{{ fmt(m[c]) }}</td>{% endfor %}</tr></table>
<p>Of {{ m.alerts }} alerts first detected this day, {{ m.confirmed }} were confirmed, {{ m.false_positive }}
marked false positive and {{ m.pending }} are not reviewed yet (accuracy counts them as unconfirmed; accuracy
of reviewed alerts: {{ fmt(m.accuracy_reviewed) }}). {{ m.complaint_only }} fault(s) reached us by complaint
before detection. {{ m.resolved }} of the confirmed alerts are resolved.</p>
{% else %}
<p><b>No metrics for {{ day }}</b> (dq.metrics_daily has no row for it: no alerts or complaints that day,
or the metrics assets have not run).</p>
{% endif %}
<h2>Q and its parts over time</h2>
<img alt="Q over time" src="{{ chart_q }}">
<h2>Alerts by category and team ({{ day }})</h2>
<img alt="alerts by category and team" src="{{ chart_by }}">
{% macro table(rows, columns, id=None) %}
{% set kind = column_classes(rows, columns) %}
<table{% if id %} id="{{ id }}"{% endif %}><thead><tr>{% for c in columns %}<th{% if kind[c] %} class="{{ kind[c] }}"{% endif %}>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for r in rows %}<tr>{% for c in columns %}<td{% if kind[c] %} class="{{ kind[c] }}"{% endif %}>{{ fmt(r[c]) }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>
{% endmacro %}
{% for dim, rows in breakdown %}
<h3>By {{ dim }}</h3>
{{ table(rows, bcols) }}
{% endfor %}
<h2>Data-related complaints created {{ day }} ({{ links|length }})</h2>
{{ table(links, lcols) }}
<h2>Alerts first detected {{ day }} (first {{ issues|length }})</h2>
<div class="controls">
<label>filter <input id="alerts-filter" type="search" placeholder="any text: id, cinema, reason…"></label>
{% for c in ('category', 'severity', 'team', 'status', 'source') %}<label>{{ c }} <select data-col="{{ icols.index(c) }}" id="alerts-{{ c }}"><option value="">all</option></select></label>
{% endfor %}<span id="alerts-count" class="muted">{{ issues|length }} shown</span>
<span class="muted">click a column heading to sort</span>
</div>
{{ table(issues, icols, "alerts") }}
<script>{{ alerts_js }}</script>
</body></html>
"""

KPIS = (("Q", "q_score"), ("accuracy", "accuracy"), ("recall", "recall"), ("closed loop", "closed_loop_rate"),
        ("data complaint ratio", "data_complaint_ratio"))
DAILY_COLS = ("alerts", "confirmed", "false_positive", "pending", "resolved", "complaint_only",
              "complaints_total", "complaints_data_related", "complaints_linked")
BREAKDOWN_COLS = ("value", "alerts", "confirmed", "false_positive", "pending", "resolved", "complaint_only",
                  "accuracy", "recall", "closed_loop_rate", "q_score")
LINK_COLS = ("complaint_id", "created_ts", "complaint_category", "order_id", "cinema_code", "issue_id",
             "link_method", "confidence", "issue_first_detected_at", "complaint_only")
ISSUE_COLS = ("issue_id", "category", "severity", "team", "status", "source", "cinema_code", "show_start_time",
              "first_detected_at", "reason")


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    return str(v)


def column_classes(rows: list[dict], columns) -> dict[str, str]:
    """CSS class per column: "num" (every present value a number: right-aligned), "ts" (timestamps:
    kept on one line), else "" (text: left-aligned, wraps)."""
    out = {}
    for c in columns:
        vals = [r.get(c) for r in rows if r.get(c) is not None]
        if vals and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            out[c] = "num"
        elif vals and all(isinstance(v, (datetime, date)) for v in vals):
            out[c] = "ts"
        else:
            out[c] = ""
    return out


def _dicts(cur) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def render_report(con: duckdb.DuckDBPyConnection, day: date, *, warehouse_label: str = "",
                  generated: datetime | None = None, max_rows: int = 300) -> str:
    """The HTML report of one day; reads only (works on a read-only connection)."""
    has_daily = table_exists(con, metrics.DAILY_TABLE)
    rows = metrics.daily_rows(con) if has_daily else []
    m = next((r for r in rows if r["metric_date"] == day), None)
    breakdown = []
    if table_exists(con, metrics.BREAKDOWN_TABLE):
        for dim in metrics.DIMENSIONS:
            breakdown.append((dim, _dicts(con.execute(
                f"SELECT * FROM {metrics.BREAKDOWN_TABLE} WHERE metric_date = $d AND dimension = $dim "
                "ORDER BY alerts DESC, complaint_only DESC, value", {"d": day, "dim": dim}))))
    links = []
    if table_exists(con, complaints.TABLE):
        links = _dicts(con.execute(
            f"SELECT * FROM {complaints.TABLE} WHERE complaint_date = $d "
            "ORDER BY complaint_only DESC, created_ts, complaint_id LIMIT $n", {"d": day, "n": max_rows}))
    issues = []
    if table_exists(con, "dq.issues"):
        issues = _dicts(con.execute(
            "SELECT * FROM dq.issues WHERE CAST(first_detected_at AS DATE) = $d AND status <> 'SUPPRESSED' "
            "ORDER BY severity, category, issue_id LIMIT $n", {"d": day, "n": max_rows}))
        for r in issues:  # dq.issues holds masked text already; this is the last line of defence
            r["reason"] = messages.mask(r.get("reason")) or None
    env = Environment(autoescape=True)
    page = env.from_string(_TEMPLATE).render(
        day=day, generated=(generated or datetime.now()).strftime("%Y-%m-%d %H:%M:%S"),
        warehouse=warehouse_label, m=m, kpis=KPIS, cols=DAILY_COLS, fmt=_fmt,
        chart_q=data_uri(chart_quality_over_time(rows, until=day)), chart_by=data_uri(chart_issues_by(con, day)),
        breakdown=breakdown, bcols=BREAKDOWN_COLS, links=links, lcols=LINK_COLS, issues=issues, icols=ISSUE_COLS,
        column_classes=column_classes, font_stack=Markup(FONT_STACK), alerts_js=Markup(_ALERTS_JS))
    return page.replace("</body>", latency.html_section(con, day) + "\n</body>", 1)  # detection delay per category


def write_report(con: duckdb.DuckDBPyConnection, day: date, out: Path, **kw) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(render_report(con, day, **kw), encoding="utf-8")
    tmp.replace(out)
    return out
