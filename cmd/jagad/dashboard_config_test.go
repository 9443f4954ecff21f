package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Steps of TestDashboardBrowser: what jagad.yaml declares, and the
// cross-origin protection.

// fileManagedSchedule: a file-managed schedule is read-only and its pause
// is an override; an API-made one is created from its form.
func (d *dash) fileManagedSchedule(t *testing.T) {
	b, od, schedID := d.b, d.od, d.schedID
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
}

// brokenConfig breaks jagad.yaml on disk: the config page shows the
// error with its line, live.
func (d *dash) brokenConfig(t *testing.T) {
	b, od, cfgPath, goodConfig := d.b, d.od, d.cfgPath, d.goodConfig
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
}

// planPreview pastes a jagad.yaml and sees its plan, applied nowhere.
func (d *dash) planPreview(t *testing.T) {
	b, od, db, goodConfig := d.b, d.od, d.db, d.goodConfig
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
}

// crossSitePost: a form on another site posting to the API is refused.
func (d *dash) crossSitePost(t *testing.T) {
	b, od, schedID := d.b, d.od, d.schedID
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
}
