package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
)

// The dashboard in a real browser: Debian's chromium driven by chromedp
// against the daemon started as in the other cmd/jagad tests. Under CI=true
// a missing browser (or PostgreSQL) fails the test; otherwise it skips.
// Screenshots of every page go to <test temp dir>/screenshots and, when
// JAGAD_SCREENSHOT_DIR is set, there too.

// requireChromium returns the browser's path.
func requireChromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("chromium is not installed (CI=true): run .ci/services.sh")
	}
	tb.Skip("chromium is not installed: run .ci/services.sh")
	return ""
}

// uiDB creates a PostgreSQL database with a table of rows rows and drops it
// (and the databases named in also) when the test ends.
func uiDB(t *testing.T, rows int, also ...*string) string {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "jagad_ui_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, "postgres://postgres@"+obsPostgres+"/postgres")
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), "postgres://postgres@"+obsPostgres+"/postgres")
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		for _, db := range append([]*string{&name}, also...) {
			if *db != "" {
				_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+*db+" WITH (FORCE)")
			}
		}
	})
	c, err := pgx.Connect(ctx, "postgres://postgres@"+obsPostgres+"/"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, fmt.Sprintf(`CREATE TABLE items (id int PRIMARY KEY, a text, b text);
INSERT INTO items SELECT g, md5(g::text), md5((g*7)::text) FROM generate_series(1, %d) g;`, rows))
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func countRows(t *testing.T, db string) int {
	t.Helper()
	c, err := pgx.Connect(context.Background(), "postgres://postgres@"+obsPostgres+"/"+db)
	if err != nil {
		t.Fatalf("connect to %s: %v", db, err)
	}
	defer c.Close(context.Background())
	var n int
	if err := c.QueryRow(context.Background(), "SELECT count(*) FROM items").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const uiConfig = `version: 1
settings:
  timezone: UTC
  compression: none
  pg_dump_path: %s
storage:
  - name: local
    provider_type: local
    path: %s
    is_default: true
connections:
  - name: pg
    db_type: postgresql
    host: 127.0.0.1
    port: 5432
    username: postgres
    databases: [%s]
schedules:
  - name: ui-nightly
    connection: pg
    database: %s
    cron_expr: "0 3 * * *"
    encryption_enabled: false
    max_age: 26h
`

// browser is one chromium tab with a record of console errors, uncaught
// exceptions, failed requests and error responses.
type browser struct {
	t      *testing.T
	ctx    context.Context
	shots  []string // screenshot dirs
	mu     sync.Mutex
	issues []string
}

func newBrowser(t *testing.T, exe string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{t: t, ctx: ctx, shots: []string{filepath.Join(t.TempDir(), "screenshots")}}
	if d := os.Getenv("JAGAD_SCREENSHOT_DIR"); d != "" {
		b.shots = append(b.shots, d)
	}
	for _, d := range b.shots {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx); err != nil { // start the browser and the tab
		t.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Listen(ctx, b.record); err != nil {
		t.Fatal(err)
	}
	// Headless windows never have focus; keyboard tests need it.
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) record(ev any) {
	var issue string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			issue = "console.error: " + strings.Join(parts, " ")
		}
	case *runtime.EventExceptionThrown:
		issue = "exception: " + (&chromedp.ExceptionError{ExceptionDetails: e.ExceptionDetails}).Error()
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError {
			issue = "log: " + e.Entry.Text + " " + e.Entry.URL
		}
	case *network.EventLoadingFailed:
		// Navigating away cancels the page's event stream: not a failure.
		if !e.Canceled && e.ErrorText != "net::ERR_ABORTED" {
			issue = "request failed: " + e.ErrorText + " " + string(e.Type)
		}
	case *network.EventResponseReceived:
		if e.Response.Status >= 400 {
			issue = fmt.Sprintf("HTTP %d %s", e.Response.Status, e.Response.URL)
		}
	}
	if issue != "" {
		b.mu.Lock()
		b.issues = append(b.issues, issue)
		b.mu.Unlock()
	}
}

// takeIssues returns and clears what went wrong since the last call.
func (b *browser) takeIssues() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.issues
	b.issues = nil
	return out
}

func (b *browser) noIssues(what string) {
	b.t.Helper()
	if is := b.takeIssues(); len(is) > 0 {
		b.t.Errorf("%s: %d console errors or failed requests:\n  %s", what, len(is), strings.Join(is, "\n  "))
	}
}

// do runs actions with a timeout.
func (b *browser) do(timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		html, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ""`))
		b.t.Fatalf("browser: %v\npage text:\n%s", err, html)
	}
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitJS polls until the expression is truthy, across navigations.
func (b *browser) waitJS(timeout time.Duration, js string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		ctx, cancel := context.WithTimeout(b.ctx, left+time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(left), chromedp.WithPollingInterval(50*time.Millisecond)))
		cancel()
		if err == nil {
			return
		}
		// A navigation ends the poll; poll again on the new page.
		if (strings.Contains(err.Error(), "navigated or closed") || strings.Contains(err.Error(), "context was destroyed") || strings.Contains(err.Error(), "Cannot find context")) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ""`))
		b.t.Fatalf("waiting for %s: %v\npage text:\n%s", js, err, text)
	}
}

// shot writes a full-page PNG screenshot named name.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	for _, d := range b.shots {
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// checkA11y fails for a control without a label or accessible name, and
// checks that Tab from the top of the page reaches the skip link first.
func (b *browser) checkA11y(page string) {
	b.t.Helper()
	missing := b.eval(`(() => {
	  const bad = [];
	  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
	    if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label")) bad.push(el.outerHTML.slice(0, 80));
	  }
	  for (const el of document.querySelectorAll("button, a[href]")) {
	    if (!(el.getAttribute("aria-label") || el.textContent.trim())) bad.push(el.outerHTML.slice(0, 80));
	  }
	  for (const el of document.querySelectorAll("progress")) {
	    if (!el.getAttribute("aria-label")) bad.push(el.outerHTML.slice(0, 80));
	  }
	  return bad.join("\n");
	})()`)
	if missing != "" {
		b.t.Errorf("%s: controls without a label:\n%s", page, missing)
	}
	b.do(5*time.Second, chromedp.Evaluate[chromedp.Void](`document.body.tabIndex = -1, document.body.focus(), document.body.removeAttribute("tabindex")`),
		chromedp.KeyEvent("\t"))
	if got := b.eval(`document.activeElement ? document.activeElement.className + ":" + document.activeElement.textContent.trim() : ""`); got != "skip:Skip to content" {
		b.t.Errorf("%s: first Tab focuses %q, want the skip link", page, got)
	}
	b.do(5*time.Second, chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
}

// TestDashboardBrowser drives the dashboard through its main paths: log in,
// an overview without console errors or failed requests, a schedule run from
// the UI whose progress and success appear without a reload, a restore
// through the wizard into a new database (rows checked in PostgreSQL), a
// file-managed schedule that is read-only and whose pause shows as an
// override, a broken jagad.yaml whose error and line show on the config page
// within 2 s, a cross-site form post that is refused, and the phone layout.
func TestDashboardBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	obsRequirePostgres(t)
	exe := requireChromium(t)
	var restored string
	db := uiDB(t, 4000, &restored)

	dir := t.TempDir()
	backups := filepath.Join(dir, "backups")
	if err := os.MkdirAll(backups, 0o755); err != nil {
		t.Fatal(err)
	}
	// A pg_dump that pauses for 2 s after its first 64 KiB, so the browser
	// can watch a backup in flight.
	realDump, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Fatal(err)
	}
	slow := filepath.Join(dir, "pg_dump")
	writeFile(t, slow, "#!/bin/bash\nif [ \"$1\" = --version ]; then exec "+realDump+" --version; fi\nset -o pipefail\n"+
		realDump+" \"$@\" | { /usr/bin/head -c 65536; /usr/bin/sleep 2; /usr/bin/cat; }\n")
	if err := os.Chmod(slow, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "jagad.yaml")
	goodConfig := fmt.Sprintf(uiConfig, slow, backups, db, db)
	writeFile(t, cfgPath, goodConfig)
	od := startObsDaemon(t, map[string]string{
		"JAGAD_DATA_DIR": filepath.Join(dir, "data"), "JAGAD_LISTEN": "127.0.0.1:0", "JAGAD_CONFIG": cfgPath,
		"JAGAD_ADMIN_USER": "admin", "JAGAD_ADMIN_PASS": "ui-test-secret", "JAGAD_LOG_FORMAT": "json",
	})
	od.login("admin", "ui-test-secret")
	schedID := od.scheduleIDs()["ui-nightly"]
	if schedID == "" {
		t.Fatalf("schedule ui-nightly not loaded; logs:\n%s", od.logs)
	}

	b := newBrowser(t, exe)
	defer func() { b.t = t }()
	t.Logf("screenshots: %s", strings.Join(b.shots, ", "))
	start := time.Now()

	t.Run("log in", func(t *testing.T) {
		b.t = t
		b.do(20*time.Second, chromedp.Navigate(od.base+"/backups"), chromedp.WaitVisible(chromedp.ID("login-form")))
		if loc := b.eval(`location.pathname + location.search`); loc != "/login?next=%2Fbackups" {
			t.Errorf("without a session /backups went to %q", loc)
		}
		b.checkA11y("login")
		b.do(10*time.Second, chromedp.SendKeys(chromedp.ID("username"), "admin"),
			chromedp.SendKeys(chromedp.ID("password"), "wrong-password"), chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.ID("login-error")))
		b.shot("login-error")
		b.takeIssues() // the refused login is a 401, as it should be
		b.do(10*time.Second, chromedp.Evaluate[chromedp.Void](`document.getElementById("password").value = ""`),
			chromedp.SendKeys(chromedp.ID("password"), "ui-test-secret"), chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("table")))
		if loc := b.eval(`location.pathname`); loc != "/backups" {
			t.Errorf("after login: %q, want /backups (the page asked for)", loc)
		}
		b.noIssues("login")
	})

	t.Run("overview", func(t *testing.T) {
		b.t = t
		b.do(20*time.Second, chromedp.Navigate(od.base+"/"), chromedp.WaitVisible(chromedp.CSS(`tr[data-schedule]`)))
		b.waitJS(5*time.Second, `document.getElementById("live-state").textContent === "live"`)
		if txt := b.eval(`document.querySelector("tr[data-schedule] th").textContent`); !strings.Contains(txt, "ui-nightly") {
			t.Errorf("schedule row: %q", txt)
		}
		// Never backed up, created just now: not overdue yet.
		if b.eval(`String(!!document.querySelector("tr.overdue"))`) != "false" {
			t.Error("a fresh schedule shows as overdue")
		}
		b.checkA11y("overview")
		b.shot("overview-empty")
		b.noIssues("overview")
	})

	var backupID string
	t.Run("run a schedule and watch it", func(t *testing.T) {
		b.t = t
		// A mark that a reload would wipe out.
		b.do(5*time.Second, chromedp.Evaluate[chromedp.Void](`window.__sameDocument = 1`),
			chromedp.Click(chromedp.CSS(`button[data-action=run][data-id="`+schedID+`"]`)))
		clicked := time.Now()
		b.waitJS(10*time.Second, `(() => { const m = document.querySelector("#running li.job .job-meta");
			return m && /^(6[4-9]|[7-9]\d|\d{3,})\.\d KiB read/.test(m.textContent) })()`)
		// The dump's first 64 KiB arrive at once; the tool then pauses 2 s.
		// That the bytes show while the phase (below) is still "dump" is
		// what proves the bar is live; how fast is a measurement, logged
		// rather than asserted, so a loaded machine does not fail it.
		t.Logf("progress bytes visible %s after the click", time.Since(clicked).Round(time.Millisecond))
		b.shot("overview-running")
		phase := b.eval(`document.querySelector("#running li.job .phase").textContent`)
		if phase != "dump" {
			t.Errorf("phase while the dump is paused = %q, want dump", phase)
		}
		b.waitJS(30*time.Second, `!!document.querySelector('tr[data-schedule="`+schedID+`"] .status.success') &&
			document.querySelector("#running li.empty") !== null`)
		if b.eval(`String(window.__sameDocument)`) != "1" {
			t.Error("the page was reloaded; the update should come live")
		}
		b.shot("overview-success")
		b.noIssues("run from the UI")
		var list []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(od.api("GET", "/api/backups?schedule_id="+schedID, nil, http.StatusOK), &list); err != nil {
			t.Fatal(err)
		}
		for _, x := range list {
			if x.Status == "success" {
				backupID = x.ID
			}
		}
		if backupID == "" {
			t.Fatalf("no successful backup in %+v", list)
		}
	})

	t.Run("backups and detail", func(t *testing.T) {
		b.t = t
		if backupID == "" {
			t.Fatal("no backup to work on: the run-now step before this one failed")
		}
		b.do(20*time.Second, chromedp.Navigate(od.base+"/backups?status=success"),
			chromedp.WaitVisible(chromedp.CSS(`a[href="/backups/`+backupID+`"]`)))
		b.checkA11y("backups")
		b.shot("backups")
		b.do(20*time.Second, chromedp.Click(chromedp.CSS(`a[href="/backups/`+backupID+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`pre.log`)))
		if txt := b.eval(`document.querySelector("pre.log").textContent`); !strings.Contains(txt, "BACKUP COMPLETE") {
			t.Errorf("log on the detail page: %q", txt)
		}
		b.checkA11y("backup detail")
		b.shot("backup-detail")
		b.noIssues("backups")
	})

	t.Run("verify quick, then deep, from the detail page", func(t *testing.T) {
		b.t = t
		if backupID == "" {
			t.Fatal("no backup to work on: the run-now step before this one failed")
		}
		type verified struct {
			VerifyStatus string `json:"verify_status"`
			VerifyMode   string `json:"verify_mode"`
			VerifiedAt   string `json:"verified_at"`
		}
		read := func() verified {
			var v verified
			if err := json.Unmarshal(od.api("GET", "/api/backups/"+backupID, nil, http.StatusOK), &v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		b.do(20*time.Second, chromedp.Navigate(od.base+"/backups/"+backupID), chromedp.WaitVisible(chromedp.ID("verify-mode")))
		if got := b.eval(`document.getElementById("verify-mode").value`); got != "deep" {
			t.Errorf("the verification mode preselected is %q, want deep (the API's default)", got)
		}
		for _, mode := range []string{"quick", "deep"} {
			before := read()
			// One step: a live refresh may swap the page's nodes between two.
			b.do(10*time.Second, chromedp.Evaluate[chromedp.Void](`document.getElementById("verify-mode").value = "`+mode+`", `+
				`document.querySelector("button[data-action=verify]").click()`))
			deadline := time.Now().Add(60 * time.Second)
			v := read()
			for (v.VerifiedAt == before.VerifiedAt || v.VerifyStatus == "verifying") && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				v = read()
			}
			if v.VerifyStatus != "passed" || v.VerifyMode != mode || v.VerifiedAt == before.VerifiedAt {
				t.Fatalf("%s verification from the page: %+v (before %+v)", mode, v, before)
			}
			// The page follows without a reload: passed, with the mode.
			b.waitJS(10*time.Second, `(() => { const dd = Array.from(document.querySelectorAll("dt")).find(d => d.textContent === "Verification"); `+
				`return dd && /passed/.test(dd.nextElementSibling.textContent) && /`+mode+` at/.test(dd.nextElementSibling.textContent); })()`)
		}
		if log := b.eval(`document.querySelector("pre.log").textContent`); !strings.Contains(log, "VERIFY: passed (deep)") || !strings.Contains(log, "VERIFY: passed (quick)") {
			t.Errorf("the backup's log lacks the two verifications:\n%s", log)
		}
		b.checkA11y("backup detail with verify")
		b.shot("backup-verified-deep")
		b.noIssues("verify")
	})

	t.Run("restore through the wizard", func(t *testing.T) {
		b.t = t
		if backupID == "" {
			t.Fatal("no backup to work on: the run-now step before this one failed")
		}
		restored = db + "_copy"
		b.do(20*time.Second, chromedp.Navigate(od.base+"/backups/"+backupID),
			chromedp.Click(chromedp.CSS(`a[href="/restore?backup=`+backupID+`"]`)),
			chromedp.WaitVisible(chromedp.ID("restore-form")))
		b.checkA11y("restore wizard")
		b.do(5*time.Second, chromedp.Click(chromedp.ID("m-replace")), chromedp.WaitVisible(chromedp.ID("replace-warning")))
		b.shot("restore-wizard-replace")
		// Data only (PostgreSQL): explained, and it takes "into an existing
		// database": never replace, never a new (empty) database.
		b.do(5*time.Second, chromedp.Click(chromedp.ID("r-dataonly")))
		if got := b.eval(`[document.getElementById("m-into").checked, document.getElementById("m-replace").disabled, document.getElementById("m-new").disabled, document.getElementById("replace-warning").hidden, /pg_restore --data-only/.test(document.getElementById("dataonly-help").textContent)].join()`); got != "true,true,true,true,true" {
			t.Errorf("data only (into checked, replace disabled, new disabled, warning hidden, explained) = %s", got)
		}
		b.shot("restore-wizard-data-only")
		b.do(5*time.Second, chromedp.Click(chromedp.ID("r-dataonly")))
		b.do(20*time.Second, chromedp.Click(chromedp.ID("m-new")),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("r-db").value = "`+restored+`"`),
			chromedp.Click(chromedp.CSS("#restore-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.ID("restore-status")))
		b.waitJS(60*time.Second, `document.getElementById("restore-status").textContent === "success"`)
		b.shot("restore-done")
		if n := countRows(t, restored); n != 4000 {
			t.Errorf("restored database has %d rows, want 4000", n)
		}
		b.noIssues("restore")
	})

	t.Run("file-managed schedule is read-only; pause is an override", func(t *testing.T) {
		b.t = t
		b.do(20*time.Second, chromedp.Navigate(od.base+"/schedules"),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-schedule="`+schedID+`"]`)))
		row := `document.querySelector('tr[data-schedule="` + schedID + `"]')`
		if got := b.eval(row + `.dataset.managed + "|" + ` + row + `.querySelector(".managed").textContent`); got != "file|managed by jagad.yaml · read-only" {
			t.Errorf("managed marker: %q", got)
		}
		// Only run, pause/resume and a link to its backups: no edit or delete.
		if got := b.eval(`Array.from(` + row + `.querySelectorAll("button")).map(x => x.dataset.action).join(",")`); got != "run,enable" {
			t.Errorf("controls on a file-managed schedule: %q", got)
		}
		b.do(10*time.Second, chromedp.Click(chromedp.CSS(`tr[data-schedule="`+schedID+`"] button[data-action=enable]`)))
		b.waitJS(5*time.Second, row+` && /override: enabled=false \(file says true\)/.test(`+row+`.textContent)`)
		b.checkA11y("schedules")
		b.shot("schedules-override")
		var sc struct {
			ManagedBy string          `json:"managed_by"`
			Enabled   bool            `json:"enabled"`
			Override  map[string]bool `json:"override"`
		}
		if err := json.Unmarshal(od.api("GET", "/api/schedules/"+schedID, nil, http.StatusOK), &sc); err != nil {
			t.Fatal(err)
		}
		if sc.ManagedBy != "file" || sc.Enabled || sc.Override["enabled"] != false || len(sc.Override) != 1 {
			t.Errorf("after pause in the UI: %+v", sc)
		}
		// Its own page is read-only and says where to change it.
		b.do(20*time.Second, chromedp.Navigate(od.base+"/schedules/"+schedID), chromedp.WaitVisible(chromedp.ID("schedule-form")))
		if got := b.eval(`document.querySelector("#schedule-form fieldset").disabled + "|" + !!document.querySelector("#schedule-form button[type=submit]") + "|" + /managed by jagad.yaml/.test(document.querySelector(".alert").textContent)`); got != "true|false|true" {
			t.Errorf("file-managed schedule page (fieldset disabled|submit button|notice) = %s", got)
		}
		b.shot("schedule-file-managed")
		// An API-made schedule is created from its form and can be edited.
		b.do(20*time.Second, chromedp.Navigate(od.base+"/schedules/new"), chromedp.WaitVisible(chromedp.ID("schedule-form")))
		b.checkA11y("new schedule")
		b.do(20*time.Second, chromedp.SendKeys(chromedp.ID("sf-name"), "ui-api-made"),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("sf-cron").value = "@hourly"; document.getElementById("sf-enabled").checked = false`),
			chromedp.Click(chromedp.CSS(`#schedule-form button[type=submit]`)))
		b.waitJS(10*time.Second, `location.pathname === "/schedules" && /ui-api-made/.test(document.querySelector("main").textContent)`)
		apiID := od.scheduleIDs()["ui-api-made"]
		if apiID == "" || b.eval(`String(!!document.querySelector('a[href="/schedules/`+apiID+`"]'))`) != "true" {
			t.Errorf("created schedule %q has no edit link", apiID)
		}
		b.shot("schedules-with-api-made")
		b.noIssues("schedules")
		b.do(20*time.Second, chromedp.Navigate(od.base+"/config"), chromedp.WaitVisible(chromedp.ID("ovr-h")))
		if !strings.Contains(b.eval(`document.body.textContent`), "ui-nightly: enabled = false") {
			t.Error("the config page does not list the override")
		}
	})

	t.Run("broken jagad.yaml shows on the config page", func(t *testing.T) {
		b.t = t
		b.do(20*time.Second, chromedp.Navigate(od.base+"/config"), chromedp.WaitVisible(chromedp.ID("state-h")))
		b.waitJS(5*time.Second, `document.getElementById("live-state").textContent === "live"`)
		b.checkA11y("config")
		b.shot("config")
		broken := strings.Replace(goodConfig, `cron_expr: "0 3 * * *"`, `cron_expr: "every night"`, 1)
		line := 0
		for i, l := range strings.Split(broken, "\n") {
			if strings.Contains(l, "every night") {
				line = i + 1
			}
		}
		written := time.Now()
		writeFile(t, cfgPath, broken)
		// The goal is 2 s (watch debounce + reload + live refresh, about
		// 0.5 s here); the wait is longer so a loaded machine does not fail
		// it, and the time is logged.
		b.waitJS(10*time.Second, fmt.Sprintf(`(() => { const l = document.querySelector("#config-error code.loc");
			return l && l.textContent.includes("jagad.yaml:%d:") })()`, line))
		t.Logf("config error shown %s after the write", time.Since(written).Round(time.Millisecond))
		b.shot("config-error")
		b.noIssues("config")
		writeFile(t, cfgPath, goodConfig)
		b.waitJS(5*time.Second, `!document.getElementById("config-error")`)
	})

	t.Run("preview a pasted jagad.yaml", func(t *testing.T) {
		b.t = t
		extra := goodConfig + "  - name: ui-extra\n    connection: pg\n    database: " + db + "\n    cron_expr: \"@hourly\"\n    encryption_enabled: false\n"
		doc, _ := json.Marshal(extra)
		b.do(20*time.Second, chromedp.Navigate(od.base+"/config"), chromedp.WaitVisible(chromedp.ID("plan-form")),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("plan-yaml").value = `+string(doc)),
			chromedp.Click(chromedp.CSS(`#plan-form button[type=submit]`)))
		b.waitJS(10*time.Second, `/create schedule ui-extra/.test(document.getElementById("plan-result").textContent)`)
		b.shot("config-plan")
		if od.scheduleIDs()["ui-extra"] != "" {
			t.Error("the preview applied the plan")
		}
		b.noIssues("plan preview")
	})

	t.Run("cross-site form post is refused", func(t *testing.T) {
		b.t = t
		before := od.api("GET", "/api/backups?schedule_id="+schedID, nil, http.StatusOK)
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<form method="post" action="%s/api/schedules/%s/run"><input name="x" value="1"></form>
<script>document.forms[0].submit()</script>`, od.base, schedID)
		}))
		defer evil.Close()
		b.do(20*time.Second, chromedp.Navigate(evil.URL))
		b.waitJS(10*time.Second, `location.pathname.endsWith("/run") && document.body.textContent.length > 0`)
		body := b.eval(`document.body.textContent`)
		if !strings.Contains(body, "cross-origin request refused") {
			t.Errorf("the forged post got: %s", body)
		}
		b.shot("cross-site-refused")
		for _, is := range b.takeIssues() {
			if !strings.Contains(is, "403") || !strings.Contains(is, "/api/schedules/"+schedID+"/run") {
				t.Errorf("besides the refused post: %s", is)
			}
		}
		time.Sleep(300 * time.Millisecond)
		if after := od.api("GET", "/api/backups?schedule_id="+schedID, nil, http.StatusOK); string(after) != string(before) {
			t.Error("the forged post started a backup")
		}
	})

	t.Run("connections and storage", func(t *testing.T) {
		b.t = t
		b.do(20*time.Second, chromedp.Navigate(od.base+"/connections"), chromedp.WaitVisible(chromedp.CSS(`section.conn`)),
			chromedp.Click(chromedp.CSS(`section.conn button[data-action=test-conn]`)))
		b.waitJS(10*time.Second, `document.querySelector("section.conn output.result").textContent === "reachable"`)
		if got := b.eval(`String(document.querySelector("section.conn input[type=checkbox]").disabled)`); got != "true" {
			t.Errorf("the file's database selection is editable: disabled=%s", got)
		}
		b.checkA11y("connections")
		b.shot("connections")
		b.do(20*time.Second, chromedp.Navigate(od.base+"/storage"), chromedp.WaitVisible(chromedp.CSS(`tr[data-provider]`)),
			chromedp.Click(chromedp.CSS(`tr[data-provider] button[data-action=test-storage]`)))
		b.waitJS(10*time.Second, `document.querySelector("tr[data-provider] output.result").className === "result ok"`)
		if got := b.eval(`document.querySelector("tr[data-provider] td[data-label=Stored]").textContent`); got == "0 B" {
			t.Error("storage shows nothing stored after a backup")
		}
		b.checkA11y("storage")
		b.shot("storage")
		b.do(20*time.Second, chromedp.Navigate(od.base+"/settings"), chromedp.WaitVisible(chromedp.ID("settings-form")))
		if got := b.eval(`[document.getElementById("s-compression").disabled, document.getElementById("s-pg_dump_path").disabled, document.getElementById("s-concurrent_backups").disabled].join()`); got != "true,true,false" {
			t.Errorf("disabled (compression from the file, a tool path, concurrent_backups) = %s", got)
		}
		b.do(10*time.Second, chromedp.Evaluate[chromedp.Void](`document.getElementById("s-concurrent_backups").value = "2"`),
			chromedp.Click(chromedp.CSS(`#settings-form button[type=submit]`)))
		b.waitJS(5*time.Second, `document.getElementById("s-concurrent_backups").defaultValue === "2"`)
		var set map[string]string
		if err := json.Unmarshal(od.api("GET", "/api/settings", nil, http.StatusOK), &set); err != nil || set["concurrent_backups"] != "2" {
			t.Errorf("settings after save: %v %v", set, err)
		}
		b.checkA11y("settings")
		b.shot("settings")
		b.do(20*time.Second, chromedp.Navigate(od.base+"/account"), chromedp.WaitVisible(chromedp.ID("password-form")))
		b.checkA11y("account")
		b.noIssues("connections and storage")
	})

	t.Run("connection, storage and notification forms", func(t *testing.T) {
		b.t = t
		const pgSecret = "ui-form-secret-5e1c"
		const hookSecret = "hook-secret-93af"
		noSecrets := func(page string) {
			t.Helper()
			if html := b.eval(`document.documentElement.outerHTML`); strings.Contains(html, pgSecret) || strings.Contains(html, hookSecret) {
				t.Errorf("%s: a stored secret is in the page", page)
			}
		}
		idOf := func(path, name string) (string, string) {
			var raw []map[string]any
			if err := json.Unmarshal(od.api("GET", path, nil, http.StatusOK), &raw); err != nil {
				t.Fatal(err)
			}
			for _, r := range raw {
				if r["name"] == name {
					return r["id"].(string), r["managed_by"].(string)
				}
			}
			return "", ""
		}

		// A connection made through the form: tested, then created, then listed.
		b.do(20*time.Second, chromedp.Navigate(od.base+"/connections"), chromedp.Click(chromedp.CSS(`a[href="/connections/new"]`)),
			chromedp.WaitVisible(chromedp.ID("connection-form")))
		b.checkA11y("new connection")
		if got := b.eval(`getComputedStyle(document.getElementById("cf-force")).display`); got != "none" {
			t.Errorf("save without a passing test is offered before any test: display %s", got)
		}
		b.do(10*time.Second, chromedp.SendKeys(chromedp.ID("cf-name"), "ui-form-pg"), chromedp.SendKeys(chromedp.ID("cf-host"), "127.0.0.1"),
			chromedp.SendKeys(chromedp.ID("cf-port"), "5432"), chromedp.SendKeys(chromedp.ID("cf-user"), "postgres"),
			chromedp.SendKeys(chromedp.ID("cf-pass"), pgSecret))
		b.shot("connection-new")
		b.do(10*time.Second, chromedp.Click(chromedp.CSS(`#connection-form button[type=submit]`)))
		b.waitJS(10*time.Second, `location.pathname === "/connections" && /ui-form-pg/.test(document.querySelector("main").textContent)`)
		connID, owner := idOf("/api/connections", "ui-form-pg")
		if connID == "" || owner != "api" {
			t.Fatalf("created connection: id %q managed_by %q", connID, owner)
		}
		if got := b.eval(`String(!!document.querySelector('section[data-conn="` + connID + `"] button[data-action=delete-record]'))`); got != "true" {
			t.Error("the API-made connection has no delete button")
		}
		b.shot("connections-with-api-made")
		// Its edit page never shows the password; an empty one keeps it, and
		// Test uses the stored one.
		b.do(20*time.Second, chromedp.Navigate(od.base+"/connections/"+connID), chromedp.WaitVisible(chromedp.ID("connection-form")))
		if got := b.eval(`document.getElementById("cf-pass").value + "|" + document.getElementById("cf-pass").placeholder`); got != "|stored: leave empty to keep it" {
			t.Errorf("password field on edit: %q", got)
		}
		noSecrets("edit connection")
		b.do(10*time.Second, chromedp.Click(chromedp.ID("cf-test")))
		b.waitJS(10*time.Second, `document.getElementById("connection-test").textContent === "reachable"`)
		b.do(10*time.Second, chromedp.Evaluate[chromedp.Void](`document.getElementById("cf-ssl").value = "disable"`),
			chromedp.Click(chromedp.CSS(`#connection-form button[type=submit]`)))
		b.waitJS(10*time.Second, `location.pathname === "/connections" && /ssl disable/.test(document.querySelector('section[data-conn="`+connID+`"]').textContent)`)
		var tr struct{ Success bool }
		if err := json.Unmarshal(od.api("POST", "/api/connections/"+connID+"/test", nil, http.StatusOK), &tr); err != nil || !tr.Success {
			t.Errorf("the saved connection does not test: %+v %v", tr, err)
		}
		// The file's connection is read-only and says where to change it.
		fileID, _ := idOf("/api/connections", "pg")
		b.do(20*time.Second, chromedp.Navigate(od.base+"/connections/"+fileID), chromedp.WaitVisible(chromedp.ID("connection-form")))
		if got := b.eval(`document.querySelector("#connection-form fieldset").disabled + "|" + !!document.querySelector("#connection-form button") + "|" + document.getElementById("managed-note").textContent.includes("under connections:")`); got != "true|false|true" {
			t.Errorf("file-managed connection page (fieldset disabled|buttons|note) = %s", got)
		}
		b.shot("connection-file-managed")

		// A storage provider: the fields follow the type.
		b.do(20*time.Second, chromedp.Navigate(od.base+"/storage/new"), chromedp.WaitVisible(chromedp.ID("provider-form")))
		b.checkA11y("new storage provider")
		b.do(10*time.Second, chromedp.SetValue(chromedp.ID("pf-type"), "minio"),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("pf-type").dispatchEvent(new Event("change"))`))
		if got := b.eval(`[document.getElementById("pf-path").offsetParent === null, document.getElementById("pf-bucket").offsetParent !== null].join()`); got != "true,true" {
			t.Errorf("minio: (path hidden, bucket shown) = %s", got)
		}
		b.shot("storage-new-s3")
		b.do(10*time.Second, chromedp.SetValue(chromedp.ID("pf-type"), "local"),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("pf-type").dispatchEvent(new Event("change"))`),
			chromedp.SendKeys(chromedp.ID("pf-name"), "ui-form-local"), chromedp.SendKeys(chromedp.ID("pf-path"), filepath.Join(dir, "more")),
			chromedp.Click(chromedp.CSS(`#provider-form button[type=submit]`)))
		b.waitJS(10*time.Second, `location.pathname === "/storage" && /ui-form-local/.test(document.querySelector("main").textContent)`)
		if id, owner := idOf("/api/storage-providers", "ui-form-local"); id == "" || owner != "api" {
			t.Errorf("created provider: %q %q", id, owner)
		}

		// A webhook target: its URL is secret; an empty field on edit keeps it.
		b.do(20*time.Second, chromedp.Navigate(od.base+"/notifications/new"), chromedp.WaitVisible(chromedp.ID("notification-form")),
			chromedp.SetValue(chromedp.ID("nf-type"), "webhook"),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("nf-type").dispatchEvent(new Event("change"))`),
			chromedp.SendKeys(chromedp.ID("nf-name"), "ui-form-hook"), chromedp.SendKeys(chromedp.ID("nf-url"), "https://hooks.example.com/"+hookSecret),
			chromedp.Click(chromedp.CSS(`input[name=events][value="backup.failed"]`)))
		b.checkA11y("new notification")
		b.shot("notification-new-webhook")
		b.do(10*time.Second, chromedp.Click(chromedp.CSS(`#notification-form button[type=submit]`)))
		b.waitJS(10*time.Second, `location.pathname === "/notifications" && /ui-form-hook/.test(document.querySelector("main").textContent)`)
		hookID, _ := idOf("/api/notifications", "ui-form-hook")
		b.do(20*time.Second, chromedp.Navigate(od.base+"/notifications/"+hookID), chromedp.WaitVisible(chromedp.ID("notification-form")))
		noSecrets("edit notification")
		if got := b.eval(`document.getElementById("nf-url").placeholder + "|" + document.getElementById("ev-backup.failed").checked`); got != "stored: leave empty to keep it|true" {
			t.Errorf("webhook edit (url placeholder|event) = %q", got)
		}
		b.do(10*time.Second, chromedp.SetValue(chromedp.ID("nf-method"), "PUT"), chromedp.Click(chromedp.CSS(`#notification-form button[type=submit]`)))
		b.waitJS(10*time.Second, `location.pathname === "/notifications"`)
		var n struct {
			ConfigJSON string `json:"config_json"`
		}
		if err := json.Unmarshal(od.api("GET", "/api/notifications/"+hookID, nil, http.StatusOK), &n); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(n.ConfigJSON, `"url":"••••••"`) || !strings.Contains(n.ConfigJSON, `"method":"PUT"`) {
			t.Errorf("after an edit with the URL left empty: %s", n.ConfigJSON)
		}
		b.shot("notifications-with-api-made")
		// Delete it from the list.
		b.do(10*time.Second, chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
			chromedp.Click(chromedp.CSS(`button[data-action=delete-record][data-id="`+hookID+`"]`)))
		b.waitJS(10*time.Second, `!/ui-form-hook/.test(document.querySelector("main").textContent)`)
		od.api("GET", "/api/notifications/"+hookID, nil, http.StatusNotFound)
		b.noIssues("forms")
	})

	t.Run("phone layout", func(t *testing.T) {
		b.t = t
		b.do(10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(1)))
		defer b.do(10*time.Second, chromedp.EmulateViewport(1280, 800))
		for _, p := range []struct{ path, name, sel string }{
			{"/schedules", "phone-schedules", "tr[data-schedule]"},
			{"/", "phone-overview", "tr[data-schedule]"},
			{"/backups/" + backupID, "phone-backup", "pre.log"},
			{"/config", "phone-config", "#state-h"},
			{"/connections/new", "phone-connection-form", "#connection-form"},
		} {
			b.do(20*time.Second, chromedp.Navigate(od.base+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
			if w := b.eval(`String(document.documentElement.scrollWidth) + (document.documentElement.scrollWidth == 390 ? "" : " innerWidth " + innerWidth)`); w != "390" {
				wide := b.eval(`Array.from(document.querySelectorAll("body *")).filter(e => e.scrollWidth > e.clientWidth + 1).slice(0, 12).map(e => e.tagName + "." + e.className + " " + e.clientWidth + "/" + e.scrollWidth + " " + getComputedStyle(e).overflowX).join("; ")`)
				t.Errorf("%s at 390 px: the page is %s px wide (scrolls sideways): %s", p.path, w, wide)
			}
			b.shot(p.name)
		}
		b.noIssues("phone")
	})
	t.Logf("browser steps took %s", time.Since(start).Round(time.Millisecond))
}
