package main

import (
	"testing"
	"time"
)

// TestDashboardBrowser drives the dashboard in a real browser (Debian's
// chromium through chromedp) against the daemon, step by step:
//   - log in; the overview without console errors or failed requests;
//   - a schedule run from the UI: the backup's progress bar moves, its
//     restore drill's progress shows, and the success appears, all without
//     a reload (dashboard_jobs_test.go);
//   - the backups list and detail; quick and deep verification from the
//     page, with the verify and drill history following live and a change
//     to an unrelated record leaving the page alone;
//   - a restore through the wizard into a new database, rows checked in
//     PostgreSQL;
//   - a physical base backup of a connection archiving its WAL restored
//     to a point in time through the wizard (dashboard_pitr_test.go);
//   - a file-managed schedule that is read-only and whose pause shows as an
//     override; a broken jagad.yaml whose error and line show on the config
//     page (goal: within 2 s, logged); a plan preview; a cross-site form
//     post that is refused (dashboard_config_test.go);
//   - connections, storage, settings and the create/edit forms
//     (dashboard_forms_test.go);
//   - keyboard and labels on every page (checkA11y), the 390×844 phone
//     layout (dashboard_layout_test.go) and 1280×800 everywhere else;
//   - a screenshot of every page.
func TestDashboardBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	d := startDashboard(t)
	start := time.Now()
	d.step(t, "log in", d.login)
	d.step(t, "overview", d.overview)
	d.step(t, "run a schedule and watch it", d.runAndWatch)
	d.step(t, "backups and detail", d.backupsAndDetail)
	d.step(t, "verify quick, then deep, from the detail page", d.verifyFromDetail)
	d.step(t, "restore through the wizard", d.restoreWizard)
	d.step(t, "file-managed schedule is read-only; pause is an override", d.fileManagedSchedule)
	d.step(t, "broken jagad.yaml shows on the config page", d.brokenConfig)
	d.step(t, "preview a pasted jagad.yaml", d.planPreview)
	d.step(t, "cross-site form post is refused", d.crossSitePost)
	d.step(t, "connections and storage", d.connectionsAndStorage)
	d.step(t, "connection, storage and notification forms", d.forms)
	d.step(t, "copy a backup to another destination; schedule copies_to", d.copyToAnother)
	d.step(t, "phone layout", d.phoneLayout)
	d.step(t, "restore a physical backup to a point in time through the wizard", d.pitrWizard)
	t.Logf("browser steps took %s", time.Since(start).Round(time.Millisecond))
}
