// Jagad dashboard: the only script the pages load (CSP: script-src 'self').
// It sends actions to the REST API with the session cookie, follows
// GET /api/events, re-fetches the page's <main> after a change event that
// concerns what the page shows (its data-watch) and moves progress bars on
// progress events. No framework, no build step.
"use strict";
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function toast(msg, bad) {
    const t = $("#toast");
    if (!t) return;
    t.textContent = msg;
    t.className = "toast show" + (bad ? " bad" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.className = "toast"; }, 5000);
  }

  // api sends a request to the API; it resolves with the parsed body or
  // throws an Error carrying the API's message.
  async function api(method, path, body) {
    const opts = { method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(path, opts);
    let data = null;
    const text = await res.text();
    if (text) { try { data = JSON.parse(text); } catch (e) { data = null; } }
    if (res.status === 401 && path !== "/api/auth/login") {
      location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      throw new Error("signed out");
    }
    if (!res.ok) throw new Error((data && data.error) || res.status + " " + res.statusText);
    return data;
  }

  // ---- login / logout
  const login = $("#login-form");
  if (login) {
    login.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const err = $("#login-error");
      err.hidden = true;
      const btn = $("button[type=submit]", login);
      btn.disabled = true;
      try {
        await api("POST", "/api/auth/login", { username: login.username.value, password: login.password.value });
        location.assign(login.dataset.next || "/");
      } catch (e) {
        err.textContent = e.message;
        err.hidden = false;
        login.password.focus();
      } finally {
        btn.disabled = false;
      }
    });
  }

  // ---- actions
  // show writes a test's outcome next to its button.
  function show(id, ok, msg) {
    const o = $("output[data-result='" + id + "']");
    if (!o) { toast(msg, !ok); return; }
    o.textContent = msg;
    o.className = "result " + (ok ? "ok" : "bad");
  }
  const actions = {
    "test-conn": async (b) => {
      show(b.dataset.id, true, "testing…");
      const r = await api("POST", "/api/connections/" + b.dataset.id + "/test");
      show(b.dataset.id, r.success, r.success ? "reachable" : "failed: " + r.error);
    },
    discover: async (b) => {
      const r = await api("POST", "/api/connections/" + b.dataset.id + "/discover");
      show(b.dataset.id, true, (Array.isArray(r) ? r.length : 0) + " databases found");
      refresh();
    },
    "test-storage": async (b) => {
      show(b.dataset.id, true, "testing…");
      const r = await api("POST", "/api/storage-providers/" + b.dataset.id + "/test");
      show(b.dataset.id, r.success, r.success ? (r.message || "ok") : "failed: " + r.error);
    },
    "set-default": async (b) => { await api("POST", "/api/storage-providers/" + b.dataset.id + "/set-default"); refresh(); },
    "test-notif": async (b) => {
      show(b.dataset.id, true, "sending…");
      const r = await api("POST", "/api/notifications/" + b.dataset.id + "/test");
      show(b.dataset.id, r.status === "sent", r.status === "sent" ? "sent" : "failed: " + r.error);
    },
    logout: async () => { await api("POST", "/api/auth/logout"); location.assign("/login"); },
    run: async (b) => { await api("POST", "/api/schedules/" + b.dataset.id + "/run"); toast("Schedule started."); },
    enable: async (b) => {
      const on = b.dataset.value === "true";
      await api("PUT", "/api/schedules/" + b.dataset.id, { enabled: on });
      toast(on ? "Schedule enabled." : "Schedule paused.");
      refresh();
    },
    "delete-record": async (b) => { await api("DELETE", b.dataset.path); toast("Deleted."); refresh(); },
    "delete-schedule": async (b) => { await api("DELETE", "/api/schedules/" + b.dataset.id); toast("Schedule deleted."); refresh(); },
    verify: async (b) => {
      const m = $("#verify-mode");
      const mode = m ? m.value : "deep";
      await api("POST", "/api/backups/" + b.dataset.id + "/verify", { mode });
      toast((mode === "quick" ? "Quick" : "Deep") + " verification started.");
      refresh();
    },
    delete: async (b) => { await api("DELETE", "/api/backups/" + b.dataset.id); location.assign("/backups"); },
    copy: async (b) => {
      const to = $("#copy-to");
      const name = to.options[to.selectedIndex].textContent;
      await api("POST", "/api/backups/" + b.dataset.id + "/copies", { storage_provider_id: to.value });
      toast("Copying to " + name + "…");
      refresh();
    },
    reload: async () => { const p = await api("POST", "/api/config/reload"); toast("Reloaded: " + (p && p.summary || "done")); refresh(); },
    "confirm-prune": async () => { await api("POST", "/api/config/reload?confirm_prune=true"); toast("Held plan applied."); refresh(); },
  };
  document.addEventListener("change", async (ev) => {
    const c = ev.target;
    if (!c.matches || !c.matches("input[data-action=select-db]")) return;
    try {
      await api("PUT", "/api/connections/databases/" + c.dataset.id, { is_selected: c.checked });
      toast((c.checked ? "Selected " : "Deselected ") + c.labels[0].textContent.trim());
    } catch (e) {
      c.checked = !c.checked;
      toast(e.message, true);
    }
  });
  document.addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-action], a[data-action]");
    if (!b || !actions[b.dataset.action]) return;
    ev.preventDefault();
    if (b.dataset.confirm && !window.confirm(b.dataset.confirm)) return;
    b.disabled = true;
    try {
      await actions[b.dataset.action](b);
    } catch (e) {
      toast(e.message, true);
    } finally {
      b.disabled = false;
    }
  });

  // ---- config: preview a plan
  const plf = $("#plan-form");
  if (plf) {
    $("#plan-file").addEventListener("change", async (ev) => {
      const f = ev.target.files[0];
      if (f) $("#plan-yaml").value = await f.text();
    });
    plf.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = $("#plan-result");
      out.replaceChildren();
      try {
        const res = await fetch("/api/config/plan", { method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/yaml" }, body: $("#plan-yaml").value });
        const p = await res.json();
        if (!res.ok) throw new Error(p.error || res.statusText);
        const h = document.createElement("p");
        h.className = p.held ? "warn" : "";
        h.textContent = (p.changes ? p.changes + (p.changes === 1 ? " change: " : " changes: ") : "No changes: ") + p.summary + (p.held ? " — would be held: " + p.held : "");
        const ul = document.createElement("ul");
        ul.className = "plan";
        for (const it of (p.items || [])) {
          if (it.action === "unchanged") continue;
          const li = document.createElement("li");
          li.className = "plan-" + it.action;
          li.textContent = it.action + " " + it.kind + " " + it.name + (it.fields && it.fields.length ? " (" + it.fields.join(", ") + ")" : "");
          ul.append(li);
        }
        out.append(h, ul);
      } catch (e) {
        const pre = document.createElement("pre");
        pre.className = "log";
        pre.textContent = e.message;
        out.append(pre);
      }
    });
  }

  // ---- settings
  document.addEventListener("submit", async (ev) => {
    const f = ev.target;
    if (f.id !== "settings-form") return;
    ev.preventDefault();
    const err = $("#settings-error");
    err.hidden = true;
    const changed = {};
    $$("input[data-key]:not([disabled])", f).forEach((i) => { if (i.value !== i.defaultValue) changed[i.dataset.key] = i.value; });
    if (!Object.keys(changed).length) { toast("Nothing changed."); return; }
    try {
      await api("PUT", "/api/settings", changed);
      toast("Saved: " + Object.keys(changed).join(", "));
      refresh();
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  });

  // ---- schedule create / edit (API-made schedules)
  const sf = $("#schedule-form");
  if (sf) {
    // The primary (the chosen storage, else the default provider) is not
    // also a copy: its copies_to box is disabled while it is the primary.
    const primaryBox = () => {
      const boxes = $$("input[name=copies_to]", sf);
      const v = sf.storage_provider_id.value;
      const primary = v ? boxes.find((c) => c.value === v) : boxes.find((c) => "default" in c.dataset);
      boxes.forEach((c) => {
        if (c.closest("fieldset[disabled]")) return;
        c.disabled = c === primary;
        c.title = c === primary ? "the primary storage of this schedule" : "";
      });
    };
    sf.storage_provider_id.addEventListener("change", primaryBox);
    primaryBox();
    sf.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const err = $("#schedule-error");
      err.hidden = true;
      const [conn, db] = sf.target.value.split("|");
      const body = {
        name: sf.name.value.trim(), connection_id: conn, database_id: db, backup_type: "full",
        cron_expr: sf.cron_expr.value.trim(), storage_provider_id: sf.storage_provider_id.value,
        retention_full: parseInt(sf.retention_full.value, 10) || 0, max_age: sf.max_age.value.replace(/\s+/g, ""),
        encryption_enabled: sf.encryption_enabled.checked, verify_enabled: sf.verify_enabled.checked,
        enabled: sf.enabled.checked,
        // copies_to: a target with a retention of its own is sent whole so a save keeps it.
        copies_to: $$("input[name=copies_to]:checked:not(:disabled)", sf).map((c) => c.dataset.target ? JSON.parse(c.dataset.target) : c.value),
      };
      try {
        if (sf.dataset.id) await api("PUT", "/api/schedules/" + sf.dataset.id, body);
        else await api("POST", "/api/schedules", body);
        location.assign("/schedules");
      } catch (e) {
        err.textContent = e.message;
        err.hidden = false;
      }
    });
  }

  // ---- connection, storage provider and notification forms (API-made
  // records). A secret field left empty is not sent: the API keeps the
  // stored value. File-managed records render disabled, without buttons.
  function formError(f, id) {
    const err = $("#" + id);
    return {
      clear() { err.hidden = true; },
      show(msg) { err.textContent = msg; err.hidden = false; err.scrollIntoView({ block: "nearest" }); },
    };
  }
  const setIf = (o, k, v) => { if (v !== "") o[k] = v; };

  const cf = $("#connection-form");
  if (cf && !$("fieldset", cf).disabled) {
    const out = $("#connection-test"), err = formError(cf, "connection-error"), force = $("#cf-force");
    const body = () => {
      const b = { name: cf.name.value.trim(), db_type: cf.db_type.value, host: cf.host.value.trim(),
        username: cf.username.value.trim(), ssl_mode: cf.ssl_mode.value.trim() };
      const port = parseInt(cf.port.value, 10);
      if (port) b.port = port;
      setIf(b, "password", cf.password.value);
      return b;
    };
    // test checks the form's values; on edit the stored record is the base,
    // so an empty password tests with the stored one.
    const test = async () => {
      out.className = "result"; out.textContent = "testing…";
      const r = await api("POST", "/api/connections/" + (cf.dataset.id || "_new") + "/test", body());
      out.className = "result " + (r.success ? "ok" : "bad");
      out.textContent = r.success ? "reachable" : "failed: " + r.error;
      return r.success;
    };
    const save = async () => {
      if (cf.dataset.id) await api("PUT", "/api/connections/" + cf.dataset.id, body());
      else await api("POST", "/api/connections", body());
      location.assign("/connections");
    };
    $("#cf-test").addEventListener("click", async () => {
      err.clear();
      try { await test(); } catch (e) { out.textContent = ""; err.show(e.message); }
    });
    cf.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      err.clear();
      try {
        if (await test()) { await save(); return; }
        force.hidden = false;
        force.focus();
      } catch (e) { out.textContent = ""; err.show(e.message); }
    });
    force.addEventListener("click", async () => {
      err.clear();
      try { await save(); } catch (e) { err.show(e.message); }
    });
  }

  // showFor shows the parts of a form (data-for="type …") of the chosen type.
  function showFor(f, type, group) {
    $$("[data-for]", f).forEach((d) => {
      const on = d.dataset.for.split(" ").includes(type) || (group && d.dataset.for === group);
      d.hidden = !on;
      $$("input, select, textarea", d).forEach((i) => { i.disabled = !on; });
    });
  }

  const pvf = $("#provider-form");
  if (pvf && !$("fieldset", pvf).disabled) {
    const sync = () => showFor(pvf, pvf.provider_type.value, pvf.provider_type.value === "local" ? "" : "s3");
    pvf.provider_type.addEventListener("change", sync);
    sync();
    const err = formError(pvf, "provider-error");
    pvf.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      err.clear();
      const local = pvf.provider_type.value === "local";
      const b = { name: pvf.name.value.trim(), provider_type: pvf.provider_type.value, prefix: pvf.prefix.value.trim(),
        is_default: pvf.is_default.checked };
      if (local) b.path = pvf.path.value.trim();
      else {
        Object.assign(b, { endpoint: pvf.endpoint.value.trim(), region: pvf.region.value.trim(), bucket: pvf.bucket.value.trim(),
          access_key: pvf.access_key.value.trim(), path_style: pvf.path_style.checked });
        setIf(b, "secret_key", pvf.secret_key.value);
      }
      try {
        if (pvf.dataset.id) await api("PUT", "/api/storage-providers/" + pvf.dataset.id, b);
        else await api("POST", "/api/storage-providers", b);
        location.assign("/storage");
      } catch (e) { err.show(e.message); }
    });
  } else if (pvf) showFor(pvf, $("#pf-type").value, $("#pf-type").value === "local" ? "" : "s3");

  const nf = $("#notification-form");
  if (nf && !$("fieldset", nf).disabled) {
    const sync = () => showFor(nf, nf.notif_type.value);
    nf.notif_type.addEventListener("change", sync);
    sync();
    const err = formError(nf, "notification-error");
    nf.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      err.clear();
      const cfg = {};
      try {
        $$("[data-cfg]:not([disabled])", nf).forEach((i) => {
          const k = i.dataset.cfg, v = i.value.trim();
          if (v === "") return; // optional, or a secret that keeps its stored value
          if ("int" in i.dataset) cfg[k] = parseInt(v, 10);
          else if ("list" in i.dataset) cfg[k] = v.split(",").map((x) => x.trim()).filter(Boolean);
          else if ("headers" in i.dataset) {
            cfg[k] = {};
            v.split("\n").forEach((line) => {
              if (!line.trim()) return;
              const at = line.indexOf(":");
              if (at < 1) throw new Error("headers: each line is Name: value");
              cfg[k][line.slice(0, at).trim()] = line.slice(at + 1).trim();
            });
          } else cfg[k] = v;
        });
        const b = { name: nf.name.value.trim(), notif_type: nf.notif_type.value, config_json: JSON.stringify(cfg),
          events: $$("input[name=events]:checked", nf).map((c) => c.value) };
        if (nf.dataset.id) await api("PUT", "/api/notifications/" + nf.dataset.id, b);
        else await api("POST", "/api/notifications", b);
        location.assign("/notifications");
      } catch (e) { err.show(e.message); }
    });
  } else if (nf) showFor(nf, nf.dataset.type);

  // ---- change password
  const pf = $("#password-form");
  if (pf) {
    pf.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const err = $("#password-error");
      err.hidden = true;
      const cur = $("#pw-current").value, nw = $("#pw-new").value;
      try {
        if (nw !== $("#pw-again").value) throw new Error("the two new passwords differ");
        await api("PUT", "/api/auth/password", { current_password: cur, new_password: nw });
        location.assign("/login");
      } catch (e) {
        err.textContent = e.message;
        err.hidden = false;
      }
    });
  }

  // ---- restore wizard
  const rf = $("#restore-form");
  if (rf) {
    const db = $("#r-db", rf);
    const dir = $("#r-dir", rf); // a physical backup: a new data directory
    const dataOnly = $("#r-dataonly", rf);
    const sync = () => {
      if (!db) return;
      // Data only fills existing tables: not with replace, and a new
      // database has no tables, so it restores into an existing one.
      const only = !!(dataOnly && dataOnly.checked);
      if (only && !$("#m-into", rf).checked) $("#m-into", rf).checked = true;
      $("#m-replace", rf).disabled = only;
      $("#m-new", rf).disabled = only;
      const mode = $("input[name=mode]:checked", rf).value;
      $("#replace-warning").hidden = mode !== "replace";
      db.value = mode === "new" ? db.dataset.new : db.dataset.existing;
    };
    $$("input[name=mode]", rf).forEach((r) => r.addEventListener("change", sync));
    // A point in time: offered only when the backup declares it (a
    // physical backup whose connection archives its WAL or binary logs).
    const pit = $("#r-pit", rf);
    const when = () => { const w = $("input[name=when]:checked", rf); return w ? w.value : "backup"; };
    if (pit) $$("input[name=when]", rf).forEach((r) => r.addEventListener("change", () => {
      pit.disabled = when() !== "pit";
      if (!pit.disabled) pit.focus();
    }));
    if (dataOnly) dataOnly.addEventListener("change", sync);
    rf.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const err = $("#restore-error");
      err.hidden = true;
      try {
        let body;
        if (dir) {
          if (!dir.value.startsWith("/")) throw new Error("give the new data directory as an absolute path");
          const check = $("#r-check", rf);
          body = { target_dir: dir.value, check: !!(check && check.checked) };
          if (when() === "pit") {
            if (!pit.value) throw new Error("choose the point in time to restore to");
            body.target_time = new Date(pit.value + "Z").toISOString();
          } else if (when() === "latest") {
            body.latest = true;
          }
        } else {
          const mode = $("input[name=mode]:checked", rf).value;
          if (mode === "replace" && !window.confirm("Replace database " + db.value + " once the restore has succeeded?")) return;
          const np = $("#r-nopriv", rf);
          body = {
            target_connection: rf.target_connection.value, target_database: db.value,
            drop_existing: mode === "replace", no_privileges: !!(np && np.checked),
            restore_type: dataOnly && dataOnly.checked ? "data-only" : "full",
          };
        }
        const r = await api("POST", "/api/backups/" + rf.dataset.backup + "/restore", body);
        location.assign("/restores/" + r.id);
      } catch (e) {
        err.textContent = e.message;
        err.hidden = false;
      }
    });
  }

  // ---- live updates
  const main = $("#main");
  const live = $("#live-state");
  let refreshing = null, again = false;

  // refresh re-fetches this page and swaps its <main>, keeping focus.
  async function refresh() {
    if (!main || !main.dataset.live) return;
    if (refreshing) { again = true; return; }
    const a = document.activeElement;
    if (a && main.contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName)) return; // do not disturb typing
    const key = a && a.dataset && a.dataset.action ? "[data-action='" + a.dataset.action + "'][data-id='" + (a.dataset.id || "") + "']" : a && a.id ? "#" + a.id : null;
    refreshing = fetch(location.href, { credentials: "same-origin" }).then(async (res) => {
      if (res.redirected && new URL(res.url).pathname === "/login") { location.assign(res.url); return; }
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      const m = doc.getElementById("main");
      if (!m) return;
      // Parts the user works in (a pasted document, its plan) stay as they are.
      $$("[data-preserve][id]", main).forEach((el) => { const n = m.querySelector("#" + el.id); if (n) n.replaceWith(el); });
      main.replaceChildren(...Array.from(m.childNodes));
      if (key) { const f = $(key, main); if (f) f.focus(); }
    }).catch(() => {}).finally(() => {
      refreshing = null;
      if (again) { again = false; refresh(); }
    });
  }

  function fmtBytes(n) {
    if (n < 1024) return n + " B";
    const u = "KMGTPE"; let i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
    return n.toFixed(1) + " " + u[i] + "iB";
  }
  function fmtMs(ms) {
    if (ms < 1000) return ms + " ms";
    const s = ms / 1000;
    if (s < 60) return Math.round(s) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    return Math.floor(s / 3600) + " h " + Math.floor(s % 3600 / 60) + " min";
  }

  function jobItem(p) {
    const li = document.createElement("li");
    li.className = "job";
    li.dataset.job = p.id;
    li.dataset.kind = p.kind;
    const head = document.createElement("div");
    head.className = "job-head";
    const a = document.createElement("a");
    a.href = "/" + (p.kind === "backup" ? "backups" : "restores") + "/" + p.id;
    a.textContent = p.kind + " · " + (p.label || p.id);
    const ph = document.createElement("span");
    ph.className = "phase";
    head.append(a, " ", ph);
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.setAttribute("aria-label", "Progress of " + p.kind + " " + (p.label || p.id));
    const meta = document.createElement("div");
    meta.className = "job-meta";
    li.append(head, bar, meta);
    return li;
  }
  function fillJob(li, p) {
    $(".phase", li).textContent = p.phase;
    const bar = $("progress", li);
    if (p.percent != null) bar.value = p.percent; else bar.removeAttribute("value");
    let m = fmtBytes(p.bytes_read) + " read · " + fmtBytes(p.bytes_stored) + " stored · " +
      fmtBytes(Math.round(p.rate_bytes_per_sec)) + "/s · " + fmtMs(p.elapsed_ms);
    if (p.estimated_total_bytes) m += " · of ~" + fmtBytes(p.estimated_total_bytes);
    $(".job-meta", li).textContent = m;
  }

  let lastIds = "";
  function onProgress(jobs) {
    const ids = jobs.map((j) => j.id).join(",");
    const list = $("#running");
    if (list) {
      const keep = new Map($$("li.job", list).map((li) => [li.dataset.job, li]));
      const items = jobs.map((p) => { const li = keep.get(p.id) || jobItem(p); fillJob(li, p); return li; });
      if (!items.length) {
        const e = document.createElement("li"); e.className = "empty"; e.textContent = "Nothing running."; items.push(e);
      }
      list.replaceChildren(...items);
    } else {
      jobs.forEach((p) => $$("li.job[data-job='" + p.id + "']").forEach((li) => fillJob(li, p)));
    }
    if (ids !== lastIds && lastIds !== "") refresh(); // a job started or ended
    lastIds = ids || "-";
  }

  // concerns tells whether a change event ({kind, id, change}) touches what
  // this page shows. main's data-watch lists "kind" (any record of it),
  // "kind:ID" (that record) or "kind:shown" (a new record, or one shown in
  // an element with data-rec); a page without it re-reads on every change.
  function concerns(c) {
    const w = main && main.dataset.watch;
    if (!w) return true;
    return w.split(" ").some((t) => {
      const at = t.indexOf(":");
      const kind = at < 0 ? t : t.slice(0, at), sel = at < 0 ? "" : t.slice(at + 1);
      if (kind !== c.kind) return false;
      if (!sel || !c.id || c.change === "changed") return true;
      if (sel === "shown") return c.change === "created" || $$("[data-rec]", main).some((e) => e.dataset.rec === c.id);
      return sel === c.id;
    });
  }

  if (document.body.dataset.user && window.EventSource) {
    const es = new EventSource("/api/events");
    es.addEventListener("open", () => { if (live) { live.textContent = "live"; live.className = "live on"; } });
    es.addEventListener("error", () => { if (live) { live.textContent = "reconnecting…"; live.className = "live off"; } });
    es.addEventListener("progress", (ev) => onProgress(JSON.parse(ev.data)));
    es.addEventListener("change", (ev) => {
      let c = {};
      try { c = JSON.parse(ev.data); } catch (e) { c = {}; }
      const d = document.documentElement.dataset; // counted for the browser test
      if (c.kind && !concerns(c)) { d.changeIgnored = String((parseInt(d.changeIgnored, 10) || 0) + 1); return; }
      d.changeRefreshes = String((parseInt(d.changeRefreshes, 10) || 0) + 1);
      clearTimeout(refresh.t);
      refresh.t = setTimeout(refresh, 100);
    });
    window.addEventListener("pagehide", () => es.close());
  }
})();
