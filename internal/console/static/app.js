// Tributary console: polls /ui/api/state every second and renders it;
// the actions call the worker's Kafka Connect REST API.
"use strict";

const POLL_MS = 1000;

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function fmtRate(v) { return v >= 100 ? Math.round(v).toLocaleString("en") : v.toFixed(1); }

function fmtLag(ms) {
  if (ms < 0) return "–";
  if (ms < 1000) return ms + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
  return Math.round(ms / 60000) + " min";
}

function fmtETA(s) {
  if (s < 0) return "ETA unknown";
  if (s < 1) return "ETA <1s";
  if (s < 120) return "ETA " + Math.round(s) + "s";
  return "ETA " + Math.round(s / 60) + "m";
}

function spark(values, cls) {
  const w = 120, h = 24;
  if (!values.length) return `<svg class="spark ${cls}" viewBox="0 0 ${w} ${h}"></svg>`;
  const max = Math.max(...values, 1e-9);
  const step = values.length > 1 ? w / (values.length - 1) : 0;
  const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(h - 1 - (v / max) * (h - 2)).toFixed(1)}`).join(" ");
  return `<svg class="spark ${cls}" viewBox="0 0 ${w} ${h}" data-points="${values.length}"><polyline points="${pts}"/></svg>`;
}

function snapshotCell(conn, t) {
  const s = t.snapshot;
  if (!s) return '<span class="muted">–</span>';
  const pct = s.percent;
  const rows = `${s.rows.toLocaleString("en")}${s.estimated_rows ? " / " + s.estimated_rows.toLocaleString("en") : ""} rows`;
  const label = s.completed || pct >= 100 ? `100% · ${rows}`
    : s.estimated_rows ? `${pct.toFixed(1)}% · ${fmtETA(s.eta_seconds)}` : `${rows} · no estimate`;
  const tables = (s.tables || []).map((x) => `${x.table}: ${x.rows}${x.estimated_rows ? "/" + x.estimated_rows : ""}`).join("\n");
  return `<div class="bar snapshot" data-connector="${esc(conn)}" data-task="${t.id}" data-percent="${pct}" title="${esc(rows + "\n" + tables)}">` +
    `<div class="fill" style="width:${Math.min(pct, 100)}%"></div><div class="label">${esc(label)}</div></div>`;
}

function actions(c) {
  const n = esc(c.name);
  const pauseOrResume = c.state === "PAUSED" || c.state === "STOPPED"
    ? `<button data-action="resume" data-connector="${n}">Resume</button>`
    : `<button data-action="pause" data-connector="${n}">Pause</button>`;
  return pauseOrResume + `<button data-action="restart" data-connector="${n}">Restart</button>`;
}

function render(st) {
  const rows = [];
  for (const c of st.connectors) {
    const tasks = c.tasks.length ? c.tasks : [null];
    tasks.forEach((t, i) => {
      const first = i === 0;
      const span = tasks.length;
      let r = `<tr data-connector="${esc(c.name)}">`;
      if (first) {
        r += `<td rowspan="${span}"><b>${esc(c.name)}</b><br><span class="muted">${esc(c.type || "")}</span></td>`;
        r += `<td rowspan="${span}" class="state state-${esc(c.state)} connector-state">${esc(c.state)}</td>`;
      }
      if (t) {
        r += `<td>${t.id}</td><td class="state state-${esc(t.state)}">${esc(t.state)}</td>`;
        r += `<td class="num"><span class="events-rate">${t.local ? fmtRate(t.events_per_sec) : "–"}</span>` +
          `<br><span class="muted events-total" data-records="${t.records}">${t.local ? t.records.toLocaleString("en") + " total" : ""}</span></td>`;
        r += `<td>${spark(t.rate_history, "rate")}</td>`;
        r += `<td class="num">${t.local ? fmtLag(t.lag_ms) : "–"}</td><td>${spark(t.lag_history, "lag")}</td>`;
        r += `<td>${snapshotCell(c.name, t)}</td>`;
      } else {
        r += '<td colspan="7" class="muted">no tasks</td>';
      }
      if (first) r += `<td rowspan="${span}">${actions(c)}</td>`;
      rows.push(r + "</tr>");
    });
  }
  document.querySelector("#connectors tbody").innerHTML = rows.length ? rows.join("") : '<tr><td colspan="10" class="muted">no connectors</td></tr>';
  const errs = st.errors.map((e) => {
    const coords = e.topic ? `<div class="coords">topic <code>${esc(e.topic)}</code> · source partition <code>${esc(JSON.stringify(e.source_partition || {}))}</code> · source offset <code>${esc(JSON.stringify(e.source_offset || {}))}</code></div>` : "";
    return `<li class="error" data-connector="${esc(e.connector)}"><span class="muted">${esc(new Date(e.at).toLocaleTimeString())}</span> <b>${esc(e.connector)}${e.task !== undefined && e.task !== null ? " task " + e.task : ""}</b><div class="msg">${esc(e.message)}</div>${coords}</li>`;
  });
  document.getElementById("errors").innerHTML = errs.length ? errs.join("") : '<li class="muted">none</li>';
  document.getElementById("updated").textContent = "updated " + new Date(st.time).toLocaleTimeString();
}

function toast(msg) {
  const el = document.getElementById("toast");
  el.textContent = msg;
  el.style.display = "block";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.style.display = "none"; }, 4000);
}

async function act(action, name) {
  const path = "/connectors/" + encodeURIComponent(name);
  const req = {
    pause: [path + "/pause", "PUT"],
    resume: [path + "/resume", "PUT"],
    restart: [path + "/restart?includeTasks=true&onlyFailed=false", "POST"],
  }[action];
  try {
    const resp = await fetch(req[0], { method: req[1], credentials: "same-origin" });
    toast(`${action} ${name}: ${resp.status} ${resp.statusText}`);
  } catch (e) {
    toast(`${action} ${name}: ${e}`);
  }
  poll();
}

document.addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-action]");
  if (b) act(b.dataset.action, b.dataset.connector);
});

async function poll() {
  try {
    const resp = await fetch("/ui/api/state", { cache: "no-store", credentials: "same-origin" });
    if (!resp.ok) throw new Error(resp.status + " " + resp.statusText);
    render(await resp.json());
  } catch (e) {
    document.getElementById("updated").textContent = "cannot reach the worker: " + e.message;
  }
}

poll();
setInterval(poll, POLL_MS);
