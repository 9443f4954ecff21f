package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Steps of TestDashboardBrowser: connections, storage, settings, account
// and the forms of API-made records.

// connectionsAndStorage tests a connection and a provider from their
// pages and saves a setting.
func (d *dash) connectionsAndStorage(t *testing.T) {
	b, od := d.b, d.od
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
}

// forms creates and edits a connection, a storage provider and a webhook
// through their forms; stored secrets never reach the page.
func (d *dash) forms(t *testing.T) {
	b, od, dir := d.b, d.od, d.dir
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
}
