package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Step of TestDashboardBrowser: several destinations per backup.

// copyToAnother adds a provider through the API, copies the run step's
// backup to it from the backup's page (the backfill endpoint), watches the
// copy turn success live, checks the list's "2/2 copies", and sets the
// provider as copies_to of the API-made schedule through its form.
func (d *dash) copyToAnother(t *testing.T) {
	b, od, backupID := d.b, d.od, d.backupID
	d.needBackup(t)
	var prov struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(od.api("POST", "/api/storage-providers", map[string]any{"name": "ui-offsite", "provider_type": "local",
		"path": filepath.Join(d.dir, "offsite")}, http.StatusCreated), &prov); err != nil || prov.ID == "" {
		t.Fatalf("create provider: %v %q", err, prov.ID)
	}
	b.do(20*time.Second, chromedp.Navigate(od.base+"/backups/"+backupID), chromedp.WaitVisible(chromedp.ID("copies")))
	if got := b.eval(`String(document.querySelectorAll("#copies tr[data-copy]").length)`); got != "1" {
		t.Errorf("copies before the backfill: %s rows, want 1 (the primary)", got)
	}
	b.checkA11y("backup copies")
	b.do(20*time.Second, chromedp.SetValue(chromedp.ID("copy-to"), prov.ID),
		chromedp.Click(chromedp.CSS(`#copies button[data-action=copy]`)))
	row := `document.querySelector('#copies tr[data-copy="` + prov.ID + `"]')`
	b.waitJS(30*time.Second, row+` && `+row+`.querySelector(".status").textContent === "success"`)
	if got := b.eval(row + `.querySelector("th").textContent.trim()`); got != "ui-offsite" {
		t.Errorf("new copy's provider cell: %q", got)
	}
	// The provider holding a copy is no longer offered.
	if got := b.eval(`String(!!document.querySelector('#copy-to option[value="` + prov.ID + `"]'))`); got != "false" {
		t.Error("the copy form still offers the provider that now holds a copy")
	}
	b.shot("backup-copies")
	b.do(20*time.Second, chromedp.Navigate(od.base+"/backups"), chromedp.WaitVisible(chromedp.CSS(`tr[data-rec="`+backupID+`"]`)))
	if got := b.eval(`document.querySelector('tr[data-rec="` + backupID + `"] .badge.copies').textContent`); got != "2/2 copies" {
		t.Errorf("copies count in the list: %q", got)
	}
	// The API-made schedule's form takes copies_to.
	schedID := od.scheduleIDs()["ui-api-made"]
	if schedID == "" {
		t.Fatal("no API-made schedule: the file-managed schedule step failed")
	}
	b.do(20*time.Second, chromedp.Navigate(od.base+"/schedules/"+schedID), chromedp.WaitVisible(chromedp.ID("sf-copy-"+prov.ID)))
	// The schedule names no storage: the default provider is its primary,
	// so its box is disabled; choosing offsite as the primary moves that.
	dflt := `document.querySelector("input[name=copies_to][data-default]")`
	if got := b.eval(`String(` + dflt + `.disabled) + "," + document.getElementById("sf-copy-` + prov.ID + `").disabled`); got != "true,false" {
		t.Errorf("copies_to boxes disabled (default provider, offsite) = %s, want true,false", got)
	}
	b.do(10*time.Second, chromedp.SetValue(chromedp.ID("sf-provider"), prov.ID),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("sf-provider").dispatchEvent(new Event("change"))`))
	if got := b.eval(`String(` + dflt + `.disabled) + "," + document.getElementById("sf-copy-` + prov.ID + `").disabled`); got != "false,true" {
		t.Errorf("after choosing offsite as the primary: disabled = %s, want false,true", got)
	}
	b.do(10*time.Second, chromedp.SetValue(chromedp.ID("sf-provider"), ""),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("sf-provider").dispatchEvent(new Event("change"))`),
		chromedp.Click(chromedp.ID("sf-copy-"+prov.ID)), chromedp.Click(chromedp.CSS(`#schedule-form button[type=submit]`)))
	b.waitJS(10*time.Second, `location.pathname === "/schedules"`)
	var sc struct {
		CopiesTo []struct {
			StorageProviderID string `json:"storage_provider_id"`
		} `json:"copies_to"`
	}
	if err := json.Unmarshal(od.api("GET", "/api/schedules/"+schedID, nil, http.StatusOK), &sc); err != nil ||
		len(sc.CopiesTo) != 1 || sc.CopiesTo[0].StorageProviderID != prov.ID {
		t.Errorf("copies_to after saving the form: %+v %v", sc.CopiesTo, err)
	}
	b.noIssues("backup copies and schedule copies_to")
}
