package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// section returns the part of page from the element with id="id" to the
// end of its section.
func section(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("page has no #%s:\n%s", id, page)
	}
	s := page[i:]
	return s[:strings.Index(s, "</section>")]
}

// TestCopiesOnPages: the backup page lists exactly the recorded copies
// (provider, status, size, times, error) and offers a copy only to the
// providers without a stored or pending copy; the list shows "stored/total
// copies" only for backups with more than one copy; the schedule form takes
// copies_to (keeping a target's own retention); the notification form
// offers backup.copy_failed.
func TestCopiesOnPages(t *testing.T) {
	st, err := state.Open(state.Options{Dir: t.TempDir(), MasterKey: bytes.Repeat([]byte{7}, 32), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	prov := func(id, name string) state.Provider {
		return state.Provider{Meta: state.Meta{ID: id, ManagedBy: state.ManagedByAPI}, ProviderSpec: state.ProviderSpec{Name: name, ProviderType: "local"}}
	}
	local, offsite, vault, spare := prov("prov_local", "local-disk"), prov("prov_off", "offsite"), prov("prov_vault", "vault"), prov("prov_spare", "spare")
	local.IsDefault = true
	three := state.Backup{ID: "bck_three", Status: state.StatusSuccess, BackupType: "full", DBType: "postgresql", CreatedAt: now,
		StorageProviderID: local.ID, StoredSizeBytes: 4096,
		Replicas: []state.Replica{
			{ProviderID: local.ID, Primary: true, Status: state.ReplicaSuccess, SizeBytes: 4096, UploadedAt: &now, VerifiedAt: &later, VerifyStatus: "passed"},
			{ProviderID: offsite.ID, ProviderName: "offsite", Status: state.ReplicaFailed, Error: "connection reset by peer", Attempts: 3},
			{ProviderID: "prov_gone", ProviderName: "old-bucket", Status: state.ReplicaSuccess, SizeBytes: 4096, UploadedAt: &now},
		}}
	legacy := state.Backup{ID: "bck_legacy", Status: state.StatusSuccess, BackupType: "full", DBType: "postgresql", CreatedAt: now.Add(-time.Hour),
		StorageProviderID: local.ID, StoredSizeBytes: 2048, CompletedAt: &now}
	failed := state.Backup{ID: "bck_failed", Status: state.StatusFailed, BackupType: "full", DBType: "postgresql", CreatedAt: now.Add(-2 * time.Hour),
		StorageProviderID: local.ID}
	sched := state.Schedule{Meta: state.Meta{ID: "sch_x", ManagedBy: state.ManagedByAPI}, ScheduleSpec: state.ScheduleSpec{
		Name: "nightly", CronExpr: "0 2 * * *", BackupType: "full", StorageProviderID: local.ID, RetentionFull: 2,
		CopiesTo: []state.CopyTarget{{StorageProviderID: offsite.ID}, {StorageProviderID: vault.ID, RetentionFull: 5, KeepMonthly: 12}}}}
	if err := st.Update(func(tx *state.Tx) error {
		return errors.Join(state.Put(tx, local), state.Put(tx, offsite), state.Put(tx, vault), state.Put(tx, spare),
			state.Put(tx, three), state.Put(tx, legacy), state.Put(tx, failed), state.Put(tx, sched))
	}); err != nil {
		t.Fatal(err)
	}
	h, err := New(Deps{Store: st, Auth: func(*http.Request) (string, bool) { return "admin", true }})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, w.Code, w.Body)
		}
		return w.Body.String()
	}

	t.Run("backup with three copies", func(t *testing.T) {
		c := section(t, get("/backups/"+three.ID), "copies")
		if n := strings.Count(c, "<tr data-copy="); n != 3 {
			t.Fatalf("%d copy rows, want 3:\n%s", n, c)
		}
		order := []string{`data-copy="prov_local"`, "local-disk", "primary", "success", "4.0 KiB", "2026-03-01 10:00:00 UTC", "2026-03-01 11:00:00 UTC", "passed",
			`data-copy="prov_off"`, "offsite", "failed", "(3 attempts)", "connection reset by peer",
			`data-copy="prov_gone"`, "old-bucket", "success"}
		at := 0
		for _, s := range order {
			i := strings.Index(c[at:], s)
			if i < 0 {
				t.Fatalf("copies lack %q after offset %d:\n%s", s, at, c)
			}
			at += i
		}
		if strings.Count(c, `class="badge">primary`) != 1 {
			t.Error("not exactly one copy is marked primary")
		}
		// offered: the failed one (offsite) and the one without a copy
		// (spare), by name; not the stored ones, not vault twice.
		form := c[strings.Index(c, `id="copy-to"`):]
		for _, s := range []string{`<label for="copy-to">`, `<option value="prov_off">offsite</option>`, `<option value="prov_spare">spare</option>`,
			`<option value="prov_vault">vault</option>`, `data-action="copy" data-id="bck_three"`} {
			if !strings.Contains(c, s) {
				t.Errorf("copy form lacks %s", s)
			}
		}
		if strings.Contains(form, `value="prov_local"`) || strings.Contains(form, `value="prov_gone"`) {
			t.Errorf("copy form offers a provider that holds a copy:\n%s", form)
		}
	})
	t.Run("record without replicas is its primary alone", func(t *testing.T) {
		c := section(t, get("/backups/"+legacy.ID), "copies")
		if n := strings.Count(c, "<tr data-copy="); n != 1 || !strings.Contains(c, `data-copy="prov_local"`) || !strings.Contains(c, "2.0 KiB") {
			t.Fatalf("want the primary alone:\n%s", c)
		}
	})
	t.Run("failed backup offers no copy", func(t *testing.T) {
		c := section(t, get("/backups/"+failed.ID), "copies")
		if strings.Contains(c, `id="copy-to"`) || strings.Contains(c, `data-action="copy"`) {
			t.Errorf("a failed backup offers a copy:\n%s", c)
		}
	})
	t.Run("list counts copies only when several", func(t *testing.T) {
		page := get("/backups")
		row := func(id string) string {
			s := page[strings.Index(page, `<tr data-rec="`+id+`"`):]
			return s[:strings.Index(s, "</tr>")]
		}
		if r := row(three.ID); !strings.Contains(r, `title="2 of 3 copies stored">2/3 copies</span>`) || !strings.Contains(r, `badge copies bad`) {
			t.Errorf("three copies, one failed: row lacks 2/3:\n%s", r)
		}
		for _, id := range []string{legacy.ID, failed.ID} {
			if strings.Contains(row(id), "copies") {
				t.Errorf("%s has one copy but its row shows a count:\n%s", id, row(id))
			}
		}
	})
	t.Run("schedule form copies_to", func(t *testing.T) {
		page := get("/schedules/" + sched.ID)
		for _, s := range []string{
			`<legend>Also copy every backup to</legend>`,
			`id="sf-copy-prov_off" name="copies_to" value="prov_off" checked><label for="sf-copy-prov_off">offsite</label>`,
			`id="sf-copy-prov_vault" name="copies_to" value="prov_vault" data-target="{&#34;storage_provider_id&#34;:&#34;prov_vault&#34;,&#34;retention_full&#34;:5,&#34;keep_monthly&#34;:12}" checked>`,
			`(own retention: 5 full, 12 monthly)`,
			`id="sf-copy-prov_spare" name="copies_to" value="prov_spare"><label`,
			`id="sf-copy-prov_local" name="copies_to" value="prov_local" data-default><label`,
		} {
			if !strings.Contains(page, s) {
				t.Errorf("schedule form lacks %s", s)
			}
		}
		if n := strings.Count(get("/schedules/new"), `name="copies_to"`); n != 4 {
			t.Errorf("new schedule form: %d copies_to boxes, want one per provider (4)", n)
		}
	})
	t.Run("notification form offers backup.copy_failed", func(t *testing.T) {
		if page := get("/notifications/new"); !strings.Contains(page, `<input type="checkbox" id="ev-backup.copy_failed" name="events" value="backup.copy_failed"><label for="ev-backup.copy_failed">backup.copy_failed</label>`) {
			t.Error("notification form lacks the backup.copy_failed box")
		}
	})
}
