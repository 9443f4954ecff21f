package engine

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/state"
)

// physicalFixture is a private PostgreSQL server (a physical backup copies
// the whole cluster) with a table of 3 rows in database app.
func physicalFixture(t *testing.T, h *harness) (*dbtest.Server, state.Connection, state.Database) {
	t.Helper()
	srv := dbtest.PrivatePostgres(t)
	srv.Exec(t, "", "CREATE DATABASE app")
	srv.Exec(t, "app", "CREATE TABLE t1 (id int PRIMARY KEY, v text); INSERT INTO t1 SELECT g, 'row ' || g FROM generate_series(1, 3) g")
	c := h.addConnection("phys", srv, "")
	return srv, c, h.addDatabase(c, "app")
}

func TestPhysicalBaseBackup(t *testing.T) {
	h := newHarness(t)
	p := h.addLocalProvider("local")
	_, c, db := physicalFixture(t, h)
	b := h.start(BackupRequest{ConnectionID: c.ID, DatabaseID: db.ID, BackupType: state.BackupPhysical})
	b = h.waitBackup(b.ID, 2*time.Minute)
	if b.Status != state.StatusSuccess {
		t.Fatalf("physical backup %s: %s\n%s", b.ID, b.Status, b.LogOutput)
	}
	ph := b.Physical
	if ph == nil || !lsnRe.MatchString(ph.StartLSN) || !lsnRe.MatchString(ph.StopLSN) || ph.Timeline != 1 || len(ph.SystemID) < 10 {
		t.Fatalf("physical info = %+v, want LSNs, timeline 1 and a system identifier", ph)
	}
	if !strings.Contains(b.StoragePath, ".base.tar") || b.ServerVersion == "" || b.Tables["public.t1"] != 3 {
		t.Fatalf("record: path %q, server %q, tables %v", b.StoragePath, b.ServerVersion, b.Tables)
	}
	m, err := objfmt.ReadManifest(context.Background(), h.storeFor(p), b.StoragePath+objfmt.ManifestSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if m.Physical == nil || *m.Physical != *ph || m.BackupType != state.BackupPhysical {
		t.Fatalf("manifest physical = %+v, type %q; want %+v", m.Physical, m.BackupType, ph)
	}
}

// A user without REPLICATION gets a clear error naming what is missing.
func TestPhysicalBackupNeedsReplication(t *testing.T) {
	h := newHarness(t)
	h.addLocalProvider("local")
	srv, _, _ := physicalFixture(t, h)
	srv.Exec(t, "", "CREATE ROLE plain LOGIN PASSWORD 'plainpw'; GRANT pg_read_all_data TO plain")
	c := h.addConnection("plain", srv, "")
	c.Username, c.Password = "plain", state.Secret("plainpw")
	c = put(h, c)
	db := h.addDatabase(c, "app")
	b := h.start(BackupRequest{ConnectionID: c.ID, DatabaseID: db.ID, BackupType: state.BackupPhysical})
	b = h.waitBackup(b.ID, 2*time.Minute)
	if b.Status != state.StatusFailed || !strings.Contains(b.LogOutput, "REPLICATION attribute") {
		t.Fatalf("backup by a user without REPLICATION: %s\n%s", b.Status, b.LogOutput)
	}
}

// Physical backups are PostgreSQL's: a MariaDB connection is refused up front.
func TestPhysicalBackupRefusedForMariaDB(t *testing.T) {
	h := newHarness(t)
	h.addLocalProvider("local")
	srv := dbtest.MariaDB(t)
	c := h.addConnection("maria", srv, "")
	db := h.addDatabase(c, "app")
	_, err := h.eng.StartBackup(context.Background(), BackupRequest{ConnectionID: c.ID, DatabaseID: db.ID, BackupType: state.BackupPhysical})
	if err == nil || !strings.Contains(err.Error(), "not supported for mariadb") {
		t.Fatalf("physical backup of mariadb: err = %v", err)
	}
}

var lsnRe = regexp.MustCompile(`^[0-9A-F]+/[0-9A-F]+$`)
