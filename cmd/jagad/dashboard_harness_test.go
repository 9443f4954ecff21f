package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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

// The harness of the dashboard's browser test (TestDashboardBrowser in
// dashboard_test.go, its steps in dashboard_*_test.go): one daemon over a
// jagad.yaml, one PostgreSQL database and one chromium tab, shared by the
// steps in order. Under CI=true a missing browser (or PostgreSQL) fails the
// test; otherwise it skips. Screenshots of every page go to <test temp
// dir>/screenshots and, when JAGAD_SCREENSHOT_DIR is set, there too.

// dash is what the steps share. Steps run in order; a later one may use
// what an earlier one made (backupID), and fails when it is missing.
type dash struct {
	b          *browser
	od         *obsDaemon
	dir        string // the test's directory: jagad.yaml, backups, tools
	db         string // the PostgreSQL database the schedule backs up
	cfgPath    string
	goodConfig string
	schedID    string // the file-managed schedule ui-nightly
	backupID   string // its successful backup, made by the run step
	restored   string // the database the wizard restores into (dropped at the end)
}

// startDashboard starts the daemon over a jagad.yaml with one schedule
// (backups through a pg_dump that pauses 2 s after its first 64 KiB, and a
// restore drill after each one through a pg_restore that waits 2 s before
// it starts, so the browser can watch both in flight), logs in through the
// API and opens the browser.
func startDashboard(t *testing.T) *dash {
	t.Helper()
	obsRequirePostgres(t)
	exe := requireChromium(t)
	d := &dash{dir: t.TempDir()}
	d.db = uiDB(t, 4000, &d.restored)
	backups := filepath.Join(d.dir, "backups")
	if err := os.MkdirAll(backups, 0o755); err != nil {
		t.Fatal(err)
	}
	slowDump := slowTool(t, d.dir, "pg_dump", `realtool "$@" | { /usr/bin/head -c 65536; /usr/bin/sleep 2; /usr/bin/cat; }`)
	slowRestore := slowTool(t, d.dir, "pg_restore", `case " $* " in *" --list "*) ;; *) /usr/bin/sleep 2 ;; esac
exec realtool "$@"`)
	d.cfgPath = filepath.Join(d.dir, "jagad.yaml")
	d.goodConfig = fmt.Sprintf(uiConfig, slowDump, slowRestore, backups, d.db, d.db)
	writeFile(t, d.cfgPath, d.goodConfig)
	d.od = startObsDaemon(t, map[string]string{
		"JAGAD_DATA_DIR": filepath.Join(d.dir, "data"), "JAGAD_LISTEN": "127.0.0.1:0", "JAGAD_CONFIG": d.cfgPath,
		"JAGAD_ADMIN_USER": "admin", "JAGAD_ADMIN_PASS": "ui-test-secret", "JAGAD_LOG_FORMAT": "json",
	})
	d.od.login("admin", "ui-test-secret")
	d.schedID = d.od.scheduleIDs()["ui-nightly"]
	if d.schedID == "" {
		t.Fatalf("schedule ui-nightly not loaded; logs:\n%s", d.od.logs)
	}
	d.b = newBrowser(t, exe)
	t.Logf("screenshots: %s", strings.Join(d.b.shots, ", "))
	return d
}

// step runs one step of the browser test as a subtest.
func (d *dash) step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Run(name, func(st *testing.T) {
		d.b.t = st
		defer func() { d.b.t = t }()
		fn(st)
	})
}

// needBackup fails a step that works on the backup the run step made.
func (d *dash) needBackup(t *testing.T) {
	t.Helper()
	if d.backupID == "" {
		t.Fatal("no backup to work on: the run-now step before this one failed")
	}
}

// slowTool writes dir/name: a wrapper of the real tool (realtool in
// script) that answers --version at once and otherwise runs script.
func slowTool(t *testing.T, dir, name, script string) string {
	t.Helper()
	real, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	writeFile(t, p, "#!/bin/bash\nif [ \"$1\" = --version ]; then exec "+real+" --version; fi\nset -o pipefail\n"+
		strings.ReplaceAll(script, "realtool", real)+"\n")
	if err := os.Chmod(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

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
  pg_restore_path: %s
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
    restore_test:
      connection: pg
      every: 1
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
