package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// rsServer returns the test server behind a db_type ("mysql" runs against
// MariaDB with mysqldump/mysql).
func rsServer(t *testing.T, dbType string) *dbtest.Server {
	t.Helper()
	if dbType == dbclient.PostgreSQL {
		return dbtest.Postgres(t)
	}
	return dbtest.MariaDB(t)
}

// rsBig is a value of about 3 MB: mixed words and unicode.
func rsBig() string {
	words := []string{"ledger ", "Ωmega ", "日本語 ", "café ", "invoice-", "🚀 ", "naïve ", "42 "}
	var b strings.Builder
	for i := 0; b.Len() < 3<<20; i++ {
		b.WriteString(words[(i*7+i/11)%len(words)])
	}
	return b.String()
}

// rsSeed creates tables with indexes, a view, a function or procedure, a
// trigger, unicode text, NULLs and a 3 MB value.
func rsSeed(t *testing.T, srv *dbtest.Server, db string) {
	t.Helper()
	if srv.DBType == dbclient.PostgreSQL {
		srv.Exec(t, db, `
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE, note text,
  created_at timestamptz NOT NULL DEFAULT '2024-01-02 03:04:05+00');
CREATE INDEX customers_name_idx ON customers (name);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int REFERENCES customers(id), amount numeric(12,2),
  status text, tags text[], meta jsonb);
CREATE INDEX orders_status_idx ON orders (status) WHERE status IS NOT NULL;
CREATE TABLE audit (id bigserial PRIMARY KEY, order_id bigint, action text NOT NULL);
CREATE TABLE blobs (id int PRIMARY KEY, body text, data bytea);
CREATE FUNCTION log_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO audit (order_id, action) VALUES (NEW.id, TG_OP); RETURN NEW; END $$;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION log_order();
CREATE VIEW customer_totals AS SELECT c.id, c.name, sum(o.amount) AS total
  FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.name;
INSERT INTO customers (name, email, note) SELECT 'customer ' || g, 'c' || g || '@example.com',
  CASE WHEN g % 3 = 0 THEN NULL ELSE 'Zoë Ωmega 日本語 🚀 ' || g END FROM generate_series(1, 500) g;
INSERT INTO orders (customer_id, amount, status, tags, meta) SELECT 1 + g % 500, g * 1.25,
  CASE WHEN g % 7 = 0 THEN NULL ELSE 'paid' END, ARRAY['a', 'ü'], jsonb_build_object('n', g, 'txt', 'naïve')
  FROM generate_series(1, 2000) g;`)
	} else {
		srv.Exec(t, db, `
CREATE TABLE customers (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200) UNIQUE,
  note text, created_at datetime NOT NULL DEFAULT '2024-01-02 03:04:05', KEY customers_name_idx (name))
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE orders (id bigint AUTO_INCREMENT PRIMARY KEY, customer_id int, amount decimal(12,2), status varchar(20),
  KEY orders_status_idx (status), FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE audit (id bigint AUTO_INCREMENT PRIMARY KEY, order_id bigint, action varchar(20) NOT NULL) ENGINE=InnoDB;
CREATE TABLE blobs (id int PRIMARY KEY, body longtext, data longblob) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit (order_id, action) VALUES (NEW.id, 'INSERT');
CREATE PROCEDURE customer_count(OUT n int) BEGIN SELECT COUNT(*) INTO n FROM customers; END;
CREATE VIEW customer_totals AS SELECT c.id, c.name, SUM(o.amount) AS total
  FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.name;
INSERT INTO customers (name, email, note) SELECT CONCAT('customer ', seq), CONCAT('c', seq, '@example.com'),
  IF(seq % 3 = 0, NULL, CONCAT('Zoë Ωmega 日本語 🚀 ', seq)) FROM seq_1_to_500;
INSERT INTO orders (customer_id, amount, status) SELECT 1 + seq % 500, seq * 1.25, IF(seq % 7 = 0, NULL, 'paid')
  FROM seq_1_to_2000;`)
	}
	ins := "INSERT INTO blobs VALUES (1, ?, ?), (2, NULL, NULL)"
	if srv.DBType == dbclient.PostgreSQL {
		ins = "INSERT INTO blobs VALUES (1, $1, $2), (2, NULL, NULL)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := srv.DB(t, db).ExecContext(ctx, ins, rsBig(), []byte{0, 1, 2, 255, 254, 0, 'x'}); err != nil {
		t.Fatalf("insert big value: %v", err)
	}
}

// rsSmall creates a small database: one table of rows md5 values.
func rsSmall(t *testing.T, srv *dbtest.Server, prefix string, rows int) string {
	t.Helper()
	db := srv.CreateDB(t, prefix)
	if srv.DBType == dbclient.PostgreSQL {
		srv.Exec(t, db, fmt.Sprintf(`CREATE TABLE items (id int PRIMARY KEY, v text);
INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, %d) g;`, rows))
	} else {
		srv.Exec(t, db, fmt.Sprintf(`CREATE TABLE items (id int PRIMARY KEY, v varchar(64)) DEFAULT CHARSET=utf8mb4;
INSERT INTO items SELECT seq, MD5(seq) FROM seq_1_to_%d;`, rows))
	}
	return db
}

// rsObjectsExist fails unless the view and the routine survived.
func rsObjectsExist(t *testing.T, srv *dbtest.Server, db string) {
	t.Helper()
	srv.Exec(t, db, "SELECT * FROM customer_totals")
	if srv.DBType == dbclient.PostgreSQL {
		srv.Exec(t, db, "SELECT 'log_order()'::regprocedure")
	} else {
		srv.Exec(t, db, "CALL customer_count(@n)")
	}
}

// rsSameTables compares two dbtest checksums.
func rsSameTables(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	if maps.Equal(want, got) {
		return
	}
	keys := slices.Sorted(maps.Keys(want))
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	var diff []string
	for _, k := range keys {
		if want[k] != got[k] {
			diff = append(diff, fmt.Sprintf("%s: want %q got %q", k, want[k], got[k]))
		}
	}
	t.Errorf("%s: tables differ:\n%s", what, strings.Join(diff, "\n"))
}

// rsKeyring builds a keyring of the named keys (random values) with an age
// recovery recipient; keys maps id to value so later keyrings can reuse them.
func rsKeyring(t *testing.T, active string, keys map[string]string, id *age.X25519Identity) *crypt.Keyring {
	t.Helper()
	recipient := ""
	if id != nil {
		recipient = id.Recipient().String()
	}
	kr, err := crypt.NewKeyring(active, keys, recipient)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func rsNewKey(t *testing.T) string {
	t.Helper()
	k, err := crypt.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// restore starts a restore and waits for its outcome.
func (h *harness) restore(backupID string, req RestoreRequest) state.Restore {
	h.t.Helper()
	r, err := h.eng.Restore(context.Background(), backupID, req)
	if err != nil {
		h.t.Fatalf("start restore: %v", err)
	}
	if r.Status != state.StatusRunning {
		h.t.Fatalf("new restore status %q, want running", r.Status)
	}
	return h.waitRestore(r.ID, 2*time.Minute)
}

// waitRestore waits until a restore left running.
func (h *harness) waitRestore(id string, timeout time.Duration) state.Restore {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var r state.Restore
		err := h.store.View(func(tx *state.Tx) error {
			var err error
			r, err = state.Get[state.Restore](tx, id)
			return err
		})
		if err != nil {
			h.t.Fatalf("get restore %s: %v", id, err)
		}
		if r.Status != state.StatusRunning {
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("restore %s still running after %s; log:\n%s", id, timeout, r.LogOutput)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// objectPath is the file of a backup on a local provider.
func objectPath(p state.Provider, b state.Backup) string {
	return filepath.Join(p.Path, filepath.FromSlash(b.StoragePath))
}

// rsEncrypt is a pointer to an encryption choice.
func rsEncrypt(v bool) *bool { return &v }

// TestRestoreRoundTrip backs up a database with every compression, with and
// without encryption, for every db_type, and restores each backup into a new
// database whose tables must equal the original's. The last backup is also
// restored in place over altered data, with and without drop_existing, and
// into another connection.
func TestRestoreRoundTrip(t *testing.T) {
	for _, dbType := range []string{dbclient.PostgreSQL, dbclient.MySQL, dbclient.MariaDB} {
		t.Run(dbType, func(t *testing.T) {
			srv := rsServer(t, dbType)
			h := newHarness(t, withKeyring(rsKeyring(t, "k1", map[string]string{"k1": rsNewKey(t)}, nil)))
			h.addLocalProvider("local")
			src := srv.CreateDB(t, "rt")
			rsSeed(t, srv, src)
			want := srv.Checksum(t, src)
			if len(want) != 4 {
				t.Fatalf("seeded %d tables, want 4: %v", len(want), want)
			}
			c := h.addConnection(dbType, srv, dbType)
			d := h.addDatabase(c, src)
			var last state.Backup
			for _, comp := range []string{"gzip", "zstd", "none"} {
				for _, enc := range []bool{false, true} {
					name := fmt.Sprintf("%s/encrypted=%t", comp, enc)
					t.Run(name, func(t *testing.T) {
						h.setSetting("compression", comp)
						b := h.runBackup(c, d, rsEncrypt(enc))
						if b.Status != state.StatusSuccess || b.Compression != comp || (b.EncryptionKeyID != "") != enc {
							t.Fatalf("backup %s compression %q key %q; log:\n%s", b.Status, b.Compression, b.EncryptionKeyID, b.LogOutput)
						}
						target := fmt.Sprintf("%s_%s_%t", src, comp, enc)
						t.Cleanup(func() { srv.DropDB(t, target) })
						r := h.restore(b.ID, RestoreRequest{TargetDatabase: target})
						if r.Status != state.StatusSuccess {
							t.Fatalf("restore %s; log:\n%s", r.Status, r.LogOutput)
						}
						rsSameTables(t, name, want, srv.Checksum(t, target))
						rsObjectsExist(t, srv, target)
						for _, line := range []string{"VERIFY: object intact", "DOWNLOAD: " + b.StoragePath, "DECOMPRESS: ", "RESTORE: OK"} {
							if !strings.Contains(r.LogOutput, line) {
								t.Errorf("restore log lacks %q:\n%s", line, r.LogOutput)
							}
						}
						if got := strings.Contains(r.LogOutput, "DECRYPT: OK (AES-256-GCM)"); got != enc {
							t.Errorf("DECRYPT line present=%t, encrypted=%t:\n%s", got, enc, r.LogOutput)
						}
						last = b
					})
				}
			}
			if last.ID == "" {
				t.Fatal("no backup succeeded")
			}
			rsRestoreInPlace(t, h, srv, c, src, last, want)
		})
	}
}

// rsRestoreInPlace alters the source and restores over it (keeping and
// dropping the database), then restores into another connection.
func rsRestoreInPlace(t *testing.T, h *harness, srv *dbtest.Server, c state.Connection, src string, b state.Backup, want map[string]string) {
	t.Run("in-place", func(t *testing.T) {
		alter := "DROP TABLE blobs; DELETE FROM orders WHERE id % 2 = 0; UPDATE customers SET name = 'changed'; DROP VIEW customer_totals;"
		for _, drop := range []bool{false, true} {
			srv.Exec(t, src, alter)
			if maps.Equal(want, srv.Checksum(t, src)) {
				t.Fatal("altering the source changed nothing")
			}
			r := h.restore(b.ID, RestoreRequest{DropExisting: drop})
			rsResetPool(t, srv, src) // drop_existing ended the pooled sessions
			if r.Status != state.StatusSuccess || r.TargetDatabase != src || r.TargetConnection != c.ID || r.DropExisting != drop {
				t.Fatalf("restore drop_existing=%t: %+v; log:\n%s", drop, r, r.LogOutput)
			}
			rsSameTables(t, fmt.Sprintf("in place, drop_existing=%t", drop), want, srv.Checksum(t, src))
			rsObjectsExist(t, srv, src)
			if drop != strings.Contains(r.LogOutput, "swapped the restored database") {
				t.Errorf("drop_existing=%t but log:\n%s", drop, r.LogOutput)
			}
		}
	})
	t.Run("other-connection", func(t *testing.T) {
		c2 := h.addConnection("other", srv, c.DBType)
		target := src + "_other"
		t.Cleanup(func() { srv.DropDB(t, target) })
		r := h.restore(b.ID, RestoreRequest{TargetConnection: c2.ID, TargetDatabase: target})
		if r.Status != state.StatusSuccess || r.TargetConnection != c2.ID {
			t.Fatalf("restore: %+v; log:\n%s", r, r.LogOutput)
		}
		rsSameTables(t, "other connection", want, srv.Checksum(t, target))
	})
}

// TestRestoreRefusals checks the classified errors of Restore.
func TestRestoreRefusals(t *testing.T) {
	h := newHarness(t)
	p := h.addLocalProvider("local")
	now := time.Now().UTC()
	conn := func(name, dbType string) state.Connection {
		return put(h, state.Connection{Meta: state.Meta{ID: state.NewID(state.KindConnection), CreatedAt: now},
			ConnectionSpec: state.ConnectionSpec{Name: name, DBType: dbType, Host: "127.0.0.1", Username: "u"}})
	}
	pg, my := conn("pg", dbclient.PostgreSQL), conn("my", dbclient.MariaDB)
	backup := func(status string) state.Backup {
		return put(h, state.Backup{ID: state.NewID(state.KindBackup), ConnectionID: pg.ID, DBType: dbclient.PostgreSQL,
			DatabaseName: "app", Status: status, StorageProviderID: p.ID, StoragePath: "backups/x.pgdump", CreatedAt: now})
	}
	ok, failed := backup(state.StatusSuccess), backup(state.StatusFailed)
	myBackup := put(h, state.Backup{ID: state.NewID(state.KindBackup), ConnectionID: my.ID, DBType: dbclient.MariaDB,
		DatabaseName: "app", Status: state.StatusSuccess, StorageProviderID: p.ID, StoragePath: "backups/x.sql", CreatedAt: now})
	tests := []struct {
		name     string
		id       string
		req      RestoreRequest
		code     fault.Code
		contains string
	}{
		{"unknown backup", "bck_nope", RestoreRequest{}, fault.CodeNotFound, "backup not found"},
		{"failed backup", failed.ID, RestoreRequest{}, fault.CodeInvalid, "cannot restore backup with status: failed"},
		{"other db_type", ok.ID, RestoreRequest{TargetConnection: my.ID}, fault.CodeInvalid, "db_type must match"},
		{"unknown target connection", ok.ID, RestoreRequest{TargetConnection: "conn_nope"}, fault.CodeNotFound, "target connection not found"},
		{"bad database name", ok.ID, RestoreRequest{TargetDatabase: strings.Repeat("x", 70)}, fault.CodeInvalid, "target_database"},
		{"unknown restore type", ok.ID, RestoreRequest{RestoreType: "schema"}, fault.CodeInvalid, "supported: full, data-only"},
		{"data-only mariadb", myBackup.ID, RestoreRequest{RestoreType: RestoreDataOnly}, fault.CodeInvalid, "PostgreSQL only"},
		{"data-only drop_existing", ok.ID, RestoreRequest{RestoreType: RestoreDataOnly, DropExisting: true}, fault.CodeInvalid, "drop_existing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.eng.Restore(context.Background(), tt.id, tt.req)
			var ae *fault.Error
			if !errors.As(err, &ae) || ae.Code != tt.code || !strings.Contains(ae.Message, tt.contains) {
				t.Fatalf("err = %v, want %s containing %q", err, tt.code, tt.contains)
			}
		})
	}
	var n int
	_ = h.store.View(func(tx *state.Tx) error {
		rs, err := state.List[state.Restore](tx)
		n = len(rs)
		return err
	})
	if n != 0 {
		t.Errorf("refused restores left %d records", n)
	}
}

// TestRestoreCorruptObject damages stored objects: the restore (verify
// first, drop_existing=true) fails with a clear error and leaves the target
// database exactly as it was, and deep and quick verification fail too
// while the backup stays success.
func TestRestoreCorruptObject(t *testing.T) {
	tests := []struct {
		name    string
		dbType  string
		comp    string
		encrypt bool
		rows    int    // several 64 KiB chunks when large
		damage  string // flip | truncate
		want    string // in the restore log
	}{
		{"postgres encrypted bit flip", dbclient.PostgreSQL, "zstd", true, 8000, "flip", "DECRYPT ERROR: chunk 1 failed authentication"},
		{"postgres small encrypted bit flip", dbclient.PostgreSQL, "gzip", true, 300, "flip", "CHECKSUM ERROR: stored object checksum MISMATCH"},
		{"postgres gzip truncated", dbclient.PostgreSQL, "gzip", false, 300, "truncate", "CHECKSUM ERROR: stored object"},
		{"mariadb uncompressed bit flip", dbclient.MariaDB, "none", false, 300, "flip", "CHECKSUM ERROR: stored object checksum MISMATCH"},
		{"mariadb encrypted truncated", dbclient.MariaDB, "gzip", true, 300, "truncate", "CHECKSUM ERROR: stored object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := rsServer(t, tt.dbType)
			h := newHarness(t, withKeyring(rsKeyring(t, "k1", map[string]string{"k1": rsNewKey(t)}, nil)))
			p := h.addLocalProvider("local")
			h.setSetting("compression", tt.comp)
			db := rsSmall(t, srv, "corrupt", tt.rows)
			c := h.addConnection("c", srv, "")
			b := h.runBackup(c, h.addDatabase(c, db), rsEncrypt(tt.encrypt))
			if b.Status != state.StatusSuccess {
				t.Fatalf("backup %s:\n%s", b.Status, b.LogOutput)
			}
			srv.Exec(t, db, "UPDATE items SET v = 'after backup' WHERE id <= 10") // the target differs from the dump
			before := srv.Checksum(t, db)
			rsDamage(t, objectPath(p, b), tt.damage)

			r := h.restore(b.ID, RestoreRequest{DropExisting: true})
			if r.Status != state.StatusFailed {
				t.Fatalf("restore of a damaged object: %s\n%s", r.Status, r.LogOutput)
			}
			for _, s := range []string{tt.want, "the target database was not touched"} {
				if !strings.Contains(r.LogOutput, s) {
					t.Errorf("restore log lacks %q:\n%s", s, r.LogOutput)
				}
			}
			rsSameTables(t, "target after failed restore", before, srv.Checksum(t, db))

			// Without the first pass the stream itself must fail: the tool
			// never sees a clean end of input, and the database the restore
			// created is dropped again.
			fresh := db + "_single"
			var out syncBuffer
			st, err := h.eng.stores.open(p)
			if err != nil {
				t.Fatal(err)
			}
			err = restoreStream(context.Background(), streamRestore{st: st, spec: objfmt.SpecOf(b),
				keys: objfmt.Keys{Ring: h.keys}, target: srv.Target(fresh), log: &lineLog{w: &out}})
			if err == nil || !strings.Contains(out.String(), " ERROR: ") {
				t.Errorf("single-pass restore of a damaged object: %v\n%s", err, out.String())
			}
			if ok, err := dbclient.DatabaseExists(context.Background(), srv.Target(""), fresh); err != nil || ok {
				t.Errorf("database %s left behind (exists=%t, err=%v):\n%s", fresh, ok, err, out.String())
			}

			for _, deep := range []bool{true, false} {
				h.eng.verifyNow(context.Background(), b.ID, deep)
				got := h.backup(b.ID)
				if got.Status != state.StatusSuccess || got.VerifyStatus != state.VerifyFailed || got.VerifiedAt == nil {
					t.Errorf("deep=%t: status %s verify %s", deep, got.Status, got.VerifyStatus)
				}
				if !strings.Contains(got.LogOutput, "VERIFY FAILED") || !strings.Contains(got.LogOutput, "BACKUP COMPLETE") {
					t.Errorf("deep=%t: log_output lacks the verification failure or the backup log:\n%s", deep, got.LogOutput)
				}
			}
		})
	}
}

// rsResetPool closes the helper's idle connections to db.
func rsResetPool(t *testing.T, srv *dbtest.Server, db string) {
	t.Helper()
	pool := srv.DB(t, db)
	pool.SetMaxIdleConns(0)
	pool.SetMaxIdleConns(2)
}

// rsDamage flips one bit in the middle of a file or cuts its last third.
func rsDamage(t *testing.T, path, how string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	switch how {
	case "flip":
		data[len(data)/2] ^= 0x10
	case "truncate":
		data = data[:len(data)*2/3]
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreKeyRotation restores a backup made under k1 after k2 became
// active (k1 kept), fails naming k1 once k1 is removed, and restores through
// the age recovery identity with no key at all.
func TestRestoreKeyRotation(t *testing.T) {
	srv := dbtest.Postgres(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{"k1": rsNewKey(t), "k2": rsNewKey(t)}
	h := newHarness(t, withKeyring(rsKeyring(t, "k1", map[string]string{"k1": keys["k1"]}, id)))
	p := h.addLocalProvider("local")
	db := rsSmall(t, srv, "rotate", 300)
	want := srv.Checksum(t, db)
	c := h.addConnection("pg", srv, "")
	b := h.runBackup(c, h.addDatabase(c, db), rsEncrypt(true))
	if b.Status != state.StatusSuccess || b.EncryptionKeyID != "k1" {
		t.Fatalf("backup %s key %q:\n%s", b.Status, b.EncryptionKeyID, b.LogOutput)
	}

	h.keys = rsKeyring(t, "k2", keys, id)
	target := db + "_k2"
	t.Cleanup(func() { srv.DropDB(t, target) })
	if r := h.restore(b.ID, RestoreRequest{TargetDatabase: target}); r.Status != state.StatusSuccess {
		t.Fatalf("restore with k1 kept: %s\n%s", r.Status, r.LogOutput)
	}
	rsSameTables(t, "k1 kept", want, srv.Checksum(t, target))

	h.keys = rsKeyring(t, "k2", map[string]string{"k2": keys["k2"]}, id)
	gone := db + "_nok1"
	r := h.restore(b.ID, RestoreRequest{TargetDatabase: gone})
	if r.Status != state.StatusFailed || !strings.Contains(r.LogOutput, `"k1"`) || !strings.Contains(r.LogOutput, "DECRYPT ERROR") {
		t.Fatalf("restore without k1: %s\n%s", r.Status, r.LogOutput)
	}
	if ok, err := dbclient.DatabaseExists(context.Background(), srv.Target(""), gone); err != nil || ok {
		t.Errorf("failed restore created database %s (exists=%t, err=%v)", gone, ok, err)
	}

	st, err := storage.Open(storage.Config{Type: "local", Path: p.Path})
	if err != nil {
		t.Fatal(err)
	}
	recovered := db + "_age"
	t.Cleanup(func() { srv.DropDB(t, recovered) })
	var out syncBuffer
	m, err := RestoreOffline(context.Background(), OfflineRestoreOptions{Store: st, Key: b.StoragePath, Identities: []age.Identity{id},
		Target: srv.Target(recovered), Log: &out})
	if err != nil {
		t.Fatalf("recover with the age identity: %v\n%s", err, out.String())
	}
	if m.BackupID != b.ID {
		t.Errorf("recovered manifest of %s, want %s", m.BackupID, b.ID)
	}
	rsSameTables(t, "age identity", want, srv.Checksum(t, recovered))
	if strings.Contains(out.String(), srv.Password) {
		t.Error("recover log contains the database password")
	}
}

// TestRestoreNoPrivileges: a PostgreSQL backup whose dump grants to a role
// the server no longer has fails to restore with a hint, and restores with
// no_privileges, which the restore record keeps.
func TestRestoreNoPrivileges(t *testing.T) {
	srv := rsServer(t, dbclient.PostgreSQL)
	h := newHarness(t)
	h.addLocalProvider("local")
	src := srv.CreateDB(t, "grants")
	role := src + "_ro"
	srv.Exec(t, src, `CREATE ROLE "`+role+`" NOLOGIN; CREATE TABLE t (id int); INSERT INTO t VALUES (1); GRANT SELECT ON t TO "`+role+`";`)
	t.Cleanup(func() {
		srv.Exec(t, src, `DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '`+role+`') THEN
			DROP OWNED BY "`+role+`"; DROP ROLE "`+role+`"; END IF; END $$;`)
	})
	c := h.addConnection("pg", srv, dbclient.PostgreSQL)
	b := h.runBackup(c, h.addDatabase(c, src), nil)
	if b.Status != state.StatusSuccess {
		t.Fatalf("backup %s; log:\n%s", b.Status, b.LogOutput)
	}
	srv.Exec(t, src, `DROP OWNED BY "`+role+`"; DROP ROLE "`+role+`";`)

	target := src + "_copy"
	t.Cleanup(func() { srv.DropDB(t, target) })
	r := h.restore(b.ID, RestoreRequest{TargetDatabase: target})
	if r.Status != state.StatusFailed || !strings.Contains(r.LogOutput, "no_privileges") {
		t.Fatalf("restore with a missing role: %s; log:\n%s", r.Status, r.LogOutput)
	}
	r = h.restore(b.ID, RestoreRequest{TargetDatabase: target, NoPrivileges: true})
	if r.Status != state.StatusSuccess || !r.NoPrivileges {
		t.Fatalf("restore with no_privileges: %+v; log:\n%s", r, r.LogOutput)
	}
	if got := srv.Checksum(t, target)["public.t"]; !strings.HasPrefix(got, "rows=1 ") {
		t.Fatalf("restored table: %q", got)
	}
}
