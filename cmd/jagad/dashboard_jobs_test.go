package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Steps of TestDashboardBrowser: the first login and the overview, a run
// watched live, the backups pages, verification and the restore wizard.

// login: a page asks for a session, a wrong password is refused, the
// right one lands on the page asked for.
func (d *dash) login(t *testing.T) {
	b, od := d.b, d.od
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
}

// overview: the schedule row, live updates connected, no console error.
func (d *dash) overview(t *testing.T) {
	b, od := d.b, d.od
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
}

// runAndWatch runs the schedule from the overview and follows the backup
// and its restore drill without a reload.
func (d *dash) runAndWatch(t *testing.T) {
	b, od, schedID := d.b, d.od, d.schedID
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
	// The restore drill that follows the backup shows its progress live too
	// (the wrapped pg_restore waits 2 s before it reads the dump).
	b.waitJS(30*time.Second, `(() => { const j = document.querySelector('#running li.job[data-kind="drill"]');
			return j && j.querySelector(".phase").textContent === "restore" })()`)
	b.shot("overview-drill")
	if href := b.eval(`(document.querySelector('#running li.job[data-kind="drill"] a') || {}).pathname || ""`); !strings.HasPrefix(href, "/restores/res_") {
		t.Errorf("the drill's progress links to %q, want its restore", href)
	}
	b.waitJS(60*time.Second, `!!document.querySelector('tr[data-schedule="`+schedID+`"] .status.success') &&
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
			d.backupID = x.ID
		}
	}
	if d.backupID == "" {
		t.Fatalf("no successful backup in %+v", list)
	}
}

// backupsAndDetail: the list filtered by status, then the detail page.
func (d *dash) backupsAndDetail(t *testing.T) {
	b, od, backupID := d.b, d.od, d.backupID
	d.needBackup(t)
	b.do(20*time.Second, chromedp.Navigate(od.base+"/backups?status=success"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/backups/`+backupID+`"]`)))
	b.checkA11y("backups")
	b.shot("backups")
	b.do(20*time.Second, chromedp.Click(chromedp.CSS(`a[href="/backups/`+backupID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`pre.log`)))
	if txt := b.eval(`document.querySelector("pre.log").textContent`); !strings.Contains(txt, "BACKUP COMPLETE") {
		t.Errorf("log on the detail page: %q", txt)
	}
	// The drill after the backup is in the backup's history, with its
	// row-count check.
	if txt := b.eval(`(document.querySelector('#checks tr[data-check="drill"]') || {}).textContent || ""`); !strings.Contains(txt, "restore drill") ||
		!strings.Contains(txt, "passed") || !strings.Contains(txt, "match: 1 tables, 4000 rows") {
		t.Errorf("the drill in the backup's history: %q", txt)
	}
	b.checkA11y("backup detail")
	b.shot("backup-detail")
	b.noIssues("backups")
}

// verifyFromDetail verifies quick then deep from the detail page.
func (d *dash) verifyFromDetail(t *testing.T) {
	b, od, backupID := d.b, d.od, d.backupID
	d.needBackup(t)
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
	// A change to a record the page does not show leaves the page alone
	// (change events name the record; data-watch says what the page shows).
	b.do(5*time.Second, chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.changeRefreshes = "0"; document.documentElement.dataset.changeIgnored = "0"`))
	hook := od.api("POST", "/api/notifications", map[string]any{"name": "ui-unrelated", "notif_type": "webhook",
		"config_json": `{"url":"https://hooks.example.com/x"}`, "events": []string{"backup.failed"}}, http.StatusCreated)
	b.waitJS(10*time.Second, `document.documentElement.dataset.changeIgnored !== "0"`)
	if got := b.eval(`document.documentElement.dataset.changeRefreshes`); got != "0" {
		t.Errorf("a new notification target refreshed the backup page (%s refreshes)", got)
	}
	var created struct{ ID string }
	if err := json.Unmarshal(hook, &created); err != nil || created.ID == "" {
		t.Fatalf("created notification: %s %v", hook, err)
	}
	od.api("DELETE", "/api/notifications/"+created.ID, nil, http.StatusNoContent)
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
	// The history follows live, newest first: the two verifications, then
	// the drill after the backup.
	b.waitJS(10*time.Second, `Array.from(document.querySelectorAll("#checks tr[data-check] td[data-label=Check]")).map(x => x.textContent).join() === "deep verify,quick verify,restore drill"`)
	if got := b.eval(`document.documentElement.dataset.changeRefreshes`); got == "0" {
		t.Error("the verifications of the backup shown did not refresh its page")
	}
	b.checkA11y("backup detail with verify")
	b.shot("backup-verified-deep")
	b.noIssues("verify")
}

// restoreWizard restores the backup into a new database.
func (d *dash) restoreWizard(t *testing.T) {
	b, od, backupID, db := d.b, d.od, d.backupID, d.db
	d.needBackup(t)
	d.restored = db + "_copy"
	restored := d.restored
	b.do(20*time.Second, chromedp.Navigate(od.base+"/backups/"+backupID),
		chromedp.Click(chromedp.CSS(`a[href="/restore?backup=`+backupID+`"]`)),
		chromedp.WaitVisible(chromedp.ID("restore-form")))
	b.checkA11y("restore wizard")
	// A pg_dump backup restores whole: the wizard offers no point in time.
	if got := b.eval(`String(!!document.getElementById("r-when"))`); got != "false" {
		t.Error("the wizard offers a point in time for a logical dump")
	}
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
}
