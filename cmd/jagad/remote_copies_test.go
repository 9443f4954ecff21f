package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// `jagad backups show` lists exactly the copies the daemon reports, names a
// copy recorded without its provider's name from the providers list, keeps
// an error on one line; `backups copy --wait` fails (exit 1, with the
// copy's error) when the copy ends failed.
func TestBackupCopiesAgainstAFakeDaemon(t *testing.T) {
	copied := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.Path {
		case "GET /api/storage-providers":
			_, _ = w.Write([]byte(`[{"id":"prov_a","name":"local"},{"id":"prov_b","name":"offsite"},{"id":"prov_c","name":"vault"}]`))
		case "GET /api/backups/bck_x":
			vault := `{"provider_id":"prov_c","provider_name":"vault","status":"pending"}`
			if copied {
				vault = `{"provider_id":"prov_c","provider_name":"vault","status":"failed","error":"upload: access\ndenied","attempts":1}`
			}
			_, _ = w.Write([]byte(`{"id":"bck_x","status":"success","replicas":[
				{"provider_id":"prov_a","primary":true,"status":"success","size_bytes":2048},
				{"provider_id":"prov_b","provider_name":"offsite","status":"failed","error":"connection reset\nby peer","attempts":3},` + vault + `]}`))
			copied = true
		case "POST /api/backups/bck_x/copies":
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"status":"copying","backup_id":"bck_x","replica":{"provider_id":"prov_c","status":"pending"}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	env := map[string]string{"JAGAD_URL": srv.URL, "JAGAD_TOKEN": "admin-session", "HOME": t.TempDir()}
	code, out, errOut := runRemoteCLI(env, "", "backups", "show", "bck_x")
	if code != 0 {
		t.Fatalf("show: %d %s %s", code, out, errOut)
	}
	tbl := out[strings.Index(out, "Copies:"):]
	lines := strings.Split(strings.TrimSpace(tbl), "\n")
	if len(lines) != 5 {
		t.Fatalf("want the header and 3 copies:\n%s", tbl)
	}
	for i, want := range [][]string{{"local", "primary", "success", "2.0 KiB"}, {"offsite", "copy", "failed (3 attempts)", "connection reset by peer"},
		{"vault", "copy", "pending"}} {
		for _, s := range want {
			if !strings.Contains(lines[i+2], s) {
				t.Errorf("copy row %d lacks %q: %q", i, s, lines[i+2])
			}
		}
	}
	code, out, errOut = runRemoteCLI(env, "", "backups", "copy", "bck_x", "--to", "vault", "--wait")
	if code != exitFailure || !strings.Contains(errOut, "copy to vault of backup bck_x failed") || !strings.Contains(errOut, "access\ndenied") {
		t.Errorf("copy --wait of a copy that fails: %d %q %q", code, out, errOut)
	}
}

// `jagad backups list` shows each backup's copies as stored/listed: a
// pending and a failed copy do not count as stored, a failed backup shows
// its failed primary, and a record that lists no copy shows none.
func TestBackupsListCopiesColumn(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method+" "+r.URL.Path != "GET /api/backups" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[
			{"id":"bck_three","status":"success","created_at":"2026-01-01T00:00:00Z","replicas":[
				{"provider_id":"prov_a","primary":true,"status":"success"},
				{"provider_id":"prov_b","status":"failed","error":"reset"},
				{"provider_id":"prov_c","status":"pending"}]},
			{"id":"bck_two","status":"success","created_at":"2026-01-01T00:00:00Z","replicas":[
				{"provider_id":"prov_a","primary":true,"status":"success"},
				{"provider_id":"prov_b","status":"success"}]},
			{"id":"bck_failed","status":"failed","created_at":"2026-01-01T00:00:00Z","replicas":[
				{"provider_id":"prov_a","primary":true,"status":"failed"}]},
			{"id":"bck_queued","status":"queued","created_at":"2026-01-01T00:00:00Z","replicas":[]}]`))
	}))
	defer srv.Close()
	env := map[string]string{"JAGAD_URL": srv.URL, "JAGAD_TOKEN": "admin-session", "HOME": t.TempDir()}
	code, out, errOut := runRemoteCLI(env, "", "backups", "list")
	if code != 0 {
		t.Fatalf("list: %d %s %s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	head := strings.Fields(lines[0])
	col := -1
	for i, h := range head {
		if h == "COPIES" {
			col = i
		}
	}
	if col < 0 || len(lines) != 5 {
		t.Fatalf("want a COPIES column and 4 rows:\n%s", out)
	}
	for i, want := range map[int]string{1: "1/3", 2: "2/2", 3: "0/1", 4: "-"} { // an empty cell prints as -
		f := strings.Fields(lines[i])
		if len(f) <= col || f[col] != want {
			t.Errorf("row %d: copies %q, want %q: %q", i, f, want, lines[i])
		}
	}
}
