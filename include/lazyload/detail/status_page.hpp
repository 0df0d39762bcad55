// lazyload/detail/status_page.hpp
//
// Internal: the HTML status page that http.hpp serves at `GET /`, as data
// only. Not part of the public interface; do not include it directly (call
// lazyload::status_page_html()).
//
// One self-contained document: its style and script are inline, and it
// reads `api/status` (docs/status-json.md) and, with control on, posts to
// `api/load/<name>` and `api/unload/<name>` relative to its own URL, so that
// it also works behind a reverse proxy that serves it under a path prefix.
// It comes in two variants that differ in one line of the script, `const
// control = false;` or `true;`: read-only, without buttons, and with a LOAD
// or UNLOAD button per entry. Both are joined at compile time from the two
// halves below. It is kept apart from http.hpp so that the code there stays
// short and reviewable, and the page can be edited as a page.
//
// Rationale: a raw string literal, so that the page reads as a page. Keep
// each literal below 16 KB, the limit some compilers (MSVC) set on one
// string literal; a longer page goes in adjacent pieces, which join.

#ifndef LAZYLOAD_DETAIL_STATUS_PAGE_HPP_
#define LAZYLOAD_DETAIL_STATUS_PAGE_HPP_

#include <cstddef>      // std::size_t
#include <string_view>  // std::string_view

namespace lazyload {
namespace detail {

inline constexpr std::string_view kStatusPageHead =
    R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lazyload status</title>
<style>
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e;
        --busy: #9a6700; --muted: #6e7781; --line: #d0d7de; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
       margin: 1.5rem 2rem; }
h1 { font-size: 1.3rem; margin: 0 0 .4rem; }
#summary { margin: .3rem 0 .5rem; }
.bar { height: 8px; max-width: 40rem; border-radius: 4px;
       background: var(--line); overflow: hidden; }
.bar > div { height: 100%; width: 0; background: var(--ok);
             transition: width .3s; }
#message { color: var(--bad); min-height: 1.3em; margin: .6rem 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .7rem; vertical-align: middle;
         border-bottom: 1px solid var(--line); }
th { font-size: 12px; text-transform: uppercase; color: var(--muted);
     white-space: nowrap; }
td { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.name, td.error { font-family: ui-monospace, Menlo, Consolas, monospace; }
td.name { white-space: pre; }
td.error { color: var(--bad); font-size: 12px; white-space: pre-wrap;
           overflow-wrap: anywhere; width: 100%; }
td.status { font-weight: 600; }
.s-loaded { color: var(--ok); }
.s-failed { color: var(--bad); }
.s-loading, .s-queued { color: var(--busy); }
.s-unloaded { color: var(--muted); }
button { min-width: 7rem; padding: .25rem .6rem; cursor: pointer; }
.required { font-size: 11px; color: var(--muted); margin-left: .4rem; }
</style>
</head>
<body>
<h1>lazyload status</h1>
<div id="summary">connecting&hellip;</div>
<div class="bar"><div id="bar"></div></div>
<p id="message" role="status"></p>
<table>
<thead><tr><th>Name</th><th>Status</th><th class="num">Priority</th>
<th class="num">Load time</th><th>Progress</th><th class="num">Size</th>
<th>Error</th></tr></thead>
<tbody id="rows"></tbody>
</table>
<script>
"use strict";
const control = )html";

inline constexpr std::string_view kStatusPageTail = R"html(;
const rows = new Map();     // name -> the row's cells
const pending = new Set();  // names with a request in flight
let refreshing = false;

function seconds(s) {
  if (s < 1e-3) return (s * 1e6).toFixed(0) + " us";
  if (s < 1) return (s * 1e3).toFixed(1) + " ms";
  return s.toFixed(3) + " s";
}
function bytes(n) {
  if (n === null || n === 0) return "-";
  if (n < 1024) return n + " B";
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n / 1024, u = 0;
  while (v >= 1024 && u + 1 < units.length) { v /= 1024; ++u; }
  return v.toFixed(1) + " " + units[u];
}
function progress(e) {
  let text;
  if (e.status === "loaded" && e.reloading)
    return "reloading " + Math.round((e.reload_progress || 0) * 100) + "%";
  if (e.status === "loaded") text = "100%";
  else if (e.status === "loading" || e.status === "failed")
    text = Math.round(e.progress * 100) + "%";
  else return "-";
  return e.stage ? text + " " + e.stage : text;
}
function message(text) {
  document.getElementById("message").textContent = text;
}

function row(name) {
  let r = rows.get(name);
  if (r) return r;
  const tr = document.createElement("tr");
  tr.dataset.name = name;
  const cell = (cls) => {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  };
  r = { tr: tr, name: cell("name"), status: cell("status"),
        priority: cell("num"), time: cell("num"), progress: cell("progress"),
        size: cell("num"), error: cell("error") };
  if (control) {
    const actions = cell("action");
    r.button = document.createElement("button");
    r.button.dataset.name = name;
    r.button.addEventListener("click", () => act(name, r.button));
    actions.appendChild(r.button);
    r.reload = document.createElement("button");
    r.reload.dataset.name = name;
    r.reload.dataset.action = "reload";
    r.reload.textContent = "RELOAD";
    r.reload.addEventListener("click", () => act(name, r.reload));
    actions.appendChild(r.reload);
  }
  rows.set(name, r);
  document.getElementById("rows").appendChild(tr);
  return r;
}

function render(doc) {
  const p = doc.progress;
  document.getElementById("summary").textContent =
      p.loaded + " of " + p.total + " loaded (" +
      Math.round(p.progress * 10000) / 100 + "%), " + p.loading + " loading, " + p.queued + " queued, " + p.failed +
      " failed, " + p.unloaded + " unloaded; " + bytes(p.bytes_loaded) +
      " loaded" + (p.memory_budget ? " of " + bytes(p.memory_budget) : "") +
      "; " + (p.ready ? "ready" : "not ready: " + p.not_ready.join(", "));
  document.getElementById("bar").style.width = p.progress * 100 + "%";
  for (const [name, e] of Object.entries(doc.entries)) {
    const r = row(name);
    r.name.textContent = name;
    if (e.required) {
      const tag = document.createElement("span");
      tag.className = "required";
      tag.textContent = "required";
      r.name.appendChild(tag);
    }
    r.status.textContent = e.status;
    r.status.className = "status s-" + e.status;
    r.priority.textContent = e.priority;
    r.time.textContent = e.loads + e.failures ? seconds(e.load_time) : "-";
    r.progress.textContent = progress(e);
    r.size.textContent = bytes(e.size_bytes);
    r.error.textContent = (e.error || "") + (e.next_retry_at
        ? " (retry " + e.retries + " at " +
          new Date(e.next_retry_at).toLocaleTimeString() + ")"
        : "");
    if (control && !pending.has(name)) {
      const running = e.status === "loading" || e.reloading;
      const action = running ? "cancel"
                   : e.status === "loaded" ? "unload"
                   : e.status === "queued" ? "queued" : "load";
      r.button.dataset.action = action;
      r.button.textContent = action === "queued" ? "QUEUED..."
                                                 : action.toUpperCase();
      r.button.disabled = action === "queued";
      r.reload.hidden = e.status !== "loaded" || e.reloading;
    }
  }
}

async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const response = await fetch("api/status", { cache: "no-store" });
    render(await response.json());
    document.body.dataset.updated = String(Date.now());
  } catch (err) {
    message("status unavailable: " + err);
  } finally {
    refreshing = false;
  }
}

async function act(name, button) {
  const action = button.dataset.action;
  pending.add(name);
  button.disabled = true;
  const doing = { load: "LOADING...", unload: "UNLOADING...",
                  reload: "RELOADING...", cancel: "CANCELLING..." };
  button.textContent = doing[action] || "...";
  try {
    const response = await fetch(
        "api/" + action + "/" + encodeURIComponent(name), { method: "POST" });
    const body = await response.json();
    message(response.ok ? "" : body.error);
  } catch (err) {
    message(action + " " + name + ": " + err);
  } finally {
    pending.delete(name);
    refresh();
  }
}

if (control) {
  document.querySelector("thead tr").appendChild(
      document.createElement("th"));
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
)html";

// The page with `const control = ` set to `flag`, as one array of N chars.
template <std::size_t N> struct PageText {
  char text[N];  // NOLINT(modernize-avoid-c-arrays): constexpr storage
};
template <std::size_t N>
constexpr PageText<N> join_page(std::string_view flag) {
  PageText<N> out{};
  std::size_t i = 0;
  for (const std::string_view part : {kStatusPageHead, flag, kStatusPageTail}) {
    for (const char c : part) out.text[i++] = c;
  }
  return out;
}

inline constexpr std::string_view kReadOnlyFlag = "false";
inline constexpr std::string_view kControlFlag = "true";
inline constexpr auto kReadOnlyPageText =
    join_page<kStatusPageHead.size() + kReadOnlyFlag.size() +
              kStatusPageTail.size()>(kReadOnlyFlag);
inline constexpr auto kControlPageText =
    join_page<kStatusPageHead.size() + kControlFlag.size() +
              kStatusPageTail.size()>(kControlFlag);

// The read-only page and the page with control.
inline constexpr std::string_view kStatusPage(kReadOnlyPageText.text,
                                              sizeof kReadOnlyPageText.text);
inline constexpr std::string_view kControlStatusPage(
    kControlPageText.text, sizeof kControlPageText.text);

}  // namespace detail
}  // namespace lazyload

#endif  // LAZYLOAD_DETAIL_STATUS_PAGE_HPP_
