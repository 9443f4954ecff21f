package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/state"
)

// physBackup is a successful physical or incremental backup record.
func physBackup(id, connID, dbType, typ, parent string, at time.Time) state.Backup {
	return state.Backup{ID: id, ConnectionID: connID, DBType: dbType, BackupType: typ, ParentID: parent,
		Status: state.StatusSuccess, CreatedAt: at, CompletedAt: &at}
}

// A MariaDB chain: deleting a link that kept incrementals need answers 409
// naming them all (transitively); a failed child holds nothing; the last
// link and ?force=true delete.
func TestDeleteChainLinkNeedsForce(t *testing.T) {
	e := newEnv(t)
	conn := idOf(t, e.call("POST", "/api/connections", map[string]any{"name": "maria", "db_type": "mariadb",
		"host": "db.example.com", "username": "u"}, http.StatusCreated).Body)
	t0 := time.Now().UTC().Add(-time.Hour)
	full := physBackup("bck_full", conn, "mariadb", "physical", "", t0)
	inc1 := physBackup("bck_inc1", conn, "mariadb", "incremental", "bck_full", t0.Add(time.Minute))
	inc2 := physBackup("bck_inc2", conn, "mariadb", "incremental", "bck_inc1", t0.Add(2*time.Minute))
	bad := physBackup("bck_bad", conn, "mariadb", "incremental", "bck_inc2", t0.Add(3*time.Minute))
	bad.Status = state.StatusFailed
	put(t, e.store, full, inc1, inc2, bad)

	msg := errMsg(t, e.call("DELETE", "/api/backups/bck_full", nil, http.StatusConflict))
	if !strings.Contains(msg, "bck_inc1") || !strings.Contains(msg, "bck_inc2") || strings.Contains(msg, "bck_bad") ||
		!strings.Contains(msg, "force=true") {
		t.Fatalf("409 message: %q", msg)
	}
	msg = errMsg(t, e.call("DELETE", "/api/backups/bck_inc1", nil, http.StatusConflict))
	if !strings.Contains(msg, "bck_inc2") || strings.Contains(msg, "bck_full") {
		t.Fatalf("409 message for the middle link: %q", msg)
	}
	e.call("DELETE", "/api/backups/bck_inc1?force=maybe", nil, http.StatusBadRequest)
	e.call("DELETE", "/api/backups/bck_inc2", nil, http.StatusNoContent) // its only child failed
	e.call("DELETE", "/api/backups/bck_full?force=true", nil, http.StatusNoContent)
	e.call("GET", "/api/backups/bck_full", nil, http.StatusNotFound)
}

// A PostgreSQL base backup is needed by points in time only as the oldest
// base of a connection that archives its WAL.
func TestDeleteOldestPGBaseNeedsForce(t *testing.T) {
	e := newEnv(t)
	newFixture(e) // the storage provider s3
	w := e.call("POST", "/api/connections", map[string]any{"name": "pgwal", "db_type": "postgresql", "host": "h",
		"username": "u", "wal_archive": map[string]any{"enabled": true, "storage": "s3"}}, http.StatusCreated)
	conn := idOf(t, w.Body)
	t0 := time.Now().UTC().Add(-time.Hour)
	base1 := physBackup("bck_base1", conn, "postgresql", "physical", "", t0)
	base2 := physBackup("bck_base2", conn, "postgresql", "physical", "", t0.Add(30*time.Minute))
	for _, b := range []*state.Backup{&base1, &base2} {
		b.Physical = &state.PhysicalInfo{StartLSN: "0/2000028", StopLSN: "0/2000100", Timeline: 1}
	}
	put(t, e.store, base1, base2)

	msg := errMsg(t, e.call("DELETE", "/api/backups/bck_base1", nil, http.StatusConflict))
	if !strings.Contains(msg, "oldest base backup") || !strings.Contains(msg, base2.CompletedAt.Format(time.RFC3339)) {
		t.Fatalf("409 message: %q", msg)
	}
	e.call("DELETE", "/api/backups/bck_base2", nil, http.StatusNoContent) // an older base covers its points
	msg = errMsg(t, e.call("DELETE", "/api/backups/bck_base1", nil, http.StatusConflict))
	if !strings.Contains(msg, "now") {
		t.Fatalf("409 message for the only base: %q", msg)
	}
	// Archiving off: nothing needs it.
	e.call("PUT", "/api/connections/"+conn, map[string]any{"wal_archive": map[string]any{"enabled": false}}, http.StatusOK)
	e.call("DELETE", "/api/backups/bck_base1", nil, http.StatusNoContent)
}

// wal_archive on a connection: shown (a provider name, no secret), kept on
// an update that leaves it out, checked (postgresql only, an existing
// storage, a spool bound not negative); the archive verify route answers
// the engine's report, 404 for a missing connection.
func TestConnectionWalArchive(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	var v connectionView
	mustJSON(t, e.call("PUT", "/api/connections/"+f.conn, map[string]any{"wal_archive": map[string]any{"enabled": true, "storage": "s3"}},
		http.StatusOK), &v)
	e.call("PUT", "/api/connections/"+f.conn, map[string]any{"host": "db2.example.com"}, http.StatusOK)
	mustJSON(t, e.call("GET", "/api/connections/"+f.conn, nil, http.StatusOK), &v)
	if v.WalArchive == nil || *v.WalArchive != (state.WalArchive{Enabled: true, Storage: "s3"}) {
		t.Fatalf("wal_archive = %+v", v.WalArchive)
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"wal_archive": map[string]any{"enabled": true, "storage": "nope"}}, "wal_archive.storage"},
		{map[string]any{"wal_archive": map[string]any{"enabled": true}}, "wal_archive.storage"},
		{map[string]any{"wal_archive": map[string]any{"enabled": true, "storage": "s3", "spool_max_bytes": -1}}, "wal_archive.spool_max_bytes"},
	} {
		if msg := errMsg(t, e.call("PUT", "/api/connections/"+f.conn, c.body, http.StatusBadRequest)); !strings.Contains(msg, c.field) {
			t.Errorf("%v: %q", c.body, msg)
		}
	}
	w := e.call("POST", "/api/connections", map[string]any{"name": "m", "db_type": "mariadb", "host": "h", "username": "u",
		"wal_archive": map[string]any{"enabled": true, "storage": "s3"}}, http.StatusBadRequest)
	if msg := errMsg(t, w); !strings.Contains(msg, "postgresql connections only") {
		t.Errorf("wal_archive on mariadb: %q", msg)
	}
	// File-managed connections are read-only, wal_archive included.
	fileConn := state.Connection{Meta: state.Meta{ID: "conn_file", ManagedBy: state.ManagedByFile}, ConnectionSpec: state.ConnectionSpec{
		Name: "filepg", DBType: "postgresql", Host: "h", Port: 5432, Username: "u",
		WalArchive: &state.WalArchive{Enabled: true, Storage: "s3"}}}
	put(t, e.store, fileConn)
	mustJSON(t, e.call("GET", "/api/connections/conn_file", nil, http.StatusOK), &v)
	if v.WalArchive == nil || v.WalArchive.Storage != "s3" {
		t.Errorf("file-managed wal_archive not shown: %+v", v.WalArchive)
	}
	e.call("PUT", "/api/connections/conn_file", map[string]any{"wal_archive": map[string]any{"enabled": false}}, http.StatusConflict)
	// The export of API-made resources carries it.
	if y := e.call("GET", "/api/config/export", nil, http.StatusOK).Body.String(); !strings.Contains(y, "wal_archive:") ||
		!strings.Contains(y, "storage: s3") {
		t.Errorf("export lacks the wal_archive:\n%s", y)
	}

	var rep struct {
		OK   bool     `json:"ok"`
		Gaps []string `json:"gaps"`
	}
	mustJSON(t, e.call("POST", "/api/connections/"+f.conn+"/archive/verify", nil, http.StatusOK), &rep)
	if rep.OK || len(rep.Gaps) != 1 {
		t.Errorf("archive verify answer: %+v", rep)
	}
	e.call("POST", "/api/connections/conn_nope/archive/verify", nil, http.StatusNotFound)
}

// The stats count the WAL archived since each PostgreSQL connection's
// newest base backup as incrementals (the reference's shape, with
// incremental_wal added); GET /api/backups/{id} of a base shows its
// physical info and its WAL span.
func TestStatsCountWALAsIncremental(t *testing.T) {
	e := newEnv(t)
	newFixture(e) // one full backup
	at := time.Now().UTC()
	base := physBackup("bck_base", "conn_pg", "postgresql", "physical", "", at)
	base.Physical = &state.PhysicalInfo{StartLSN: "0/2000028", StopLSN: "0/2000100", Timeline: 1, SystemID: "7301"}
	put(t, e.store, base)
	var before struct {
		Total  int64            `json:"total_backups"`
		ByType map[string]int64 `json:"by_type"`
		WAL    []map[string]any `json:"incremental_wal"`
	}
	mustJSON(t, e.call("GET", "/api/backups/stats", nil, http.StatusOK), &before)
	if before.ByType["incremental"] != 0 || before.WAL == nil || len(before.WAL) != 0 {
		t.Fatalf("stats without WAL: %+v", before)
	}
	e.eng.walSpans = []engine.WALSpan{{BaseBackupID: "bck_base", ConnectionID: "conn_pg", ConnectionName: "pg",
		StartSegment: "000000010000000000000002", Segments: 7, First: "000000010000000000000003", Last: "000000010000000000000009"}}
	after := before
	mustJSON(t, e.call("GET", "/api/backups/stats", nil, http.StatusOK), &after)
	if after.ByType["incremental"] != 7 || after.Total != before.Total || len(after.WAL) != 1 || after.WAL[0]["segments"] != float64(7) {
		t.Fatalf("stats with 7 segments since the base: %+v", after)
	}
	var v struct {
		Physical *state.PhysicalInfo `json:"physical"`
		WALSpan  *engine.WALSpan     `json:"wal_span"`
	}
	mustJSON(t, e.call("GET", "/api/backups/bck_base", nil, http.StatusOK), &v)
	if v.Physical == nil || v.Physical.StopLSN != "0/2000100" || v.WALSpan == nil || v.WALSpan.Last != "000000010000000000000009" {
		t.Fatalf("base backup view: %+v %+v", v.Physical, v.WALSpan)
	}
}
