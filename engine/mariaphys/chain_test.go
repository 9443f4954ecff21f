package mariaphys

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
)

const testPassword = `Jg pw:"x'\#;`

// source is a throwaway MariaDB server whose data directory the test knows.
type source struct {
	srv     *Server
	datadir string
	target  dbclient.Target
	db      *sql.DB // over the socket, database shop
}

// startSource starts a throwaway MariaDB server whose data directory the
// test knows, with database shop and table items.
func startSource(t *testing.T) *source { return startSourceWith(t, false) }

// startSourceWith starts the source, with binary logs when logBin.
func startSourceWith(t *testing.T, logBin bool) *source {
	t.Helper()
	needTools(t)
	ctx := context.Background()
	srv, err := StartFresh(ctx, openDir(t), testPassword, logBin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	s := &source{srv: srv, datadir: srv.Datadir, db: srv.DB("root", "", "")}
	t.Cleanup(func() { s.db.Close() })
	s.exec(t, "CREATE DATABASE shop", "CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(64), qty INT) ENGINE=InnoDB")
	s.db.Close()
	s.db = srv.DB("root", "", "shop")
	s.target = dbclient.Target{DBType: dbclient.MariaDB, Host: "127.0.0.1", Port: srv.Port, User: "root",
		Password: testPassword, Database: "shop"}
	return s
}

func needTools(t *testing.T) {
	t.Helper()
	for _, n := range [][]string{{"mariadb-backup", "mariabackup"}, {"mbstream"}, {"mariadbd", "mysqld"}, {"mariadb-install-db"}} {
		if _, err := findBinary("", n...); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI needs %v: %v", n, err)
			}
			t.Skipf("needs %v: %v", n, err)
		}
	}
}

func (s *source) exec(t *testing.T, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// fingerprint is the row count and a hash of every row in key order.
func fingerprint(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query("SELECT id, COALESCE(name,'<null>'), COALESCE(qty,-1) FROM items ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	h := sha256.New()
	n := 0
	for rows.Next() {
		var id, qty int
		var name string
		if err := rows.Scan(&id, &name, &qty); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%d|%s|%d\n", id, name, qty)
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d rows %s", n, hex.EncodeToString(h.Sum(nil))[:16])
}

// stored is a backup kept in memory with its checksum, as storage would.
type stored struct {
	data []byte
	sum  string
	link Link
	res  dump.PhysicalResult
}

func backup(t *testing.T, s *source, id string, parent *stored) *stored {
	t.Helper()
	var buf bytes.Buffer
	var log strings.Builder
	o := PhysicalFor(s.datadir, parent)
	res, err := dump.Physical(context.Background(), s.target, o, &buf, &log)
	if err != nil {
		t.Fatalf("backup %s: %v\n%s", id, err, log.String())
	}
	if strings.Contains(log.String(), testPassword) {
		t.Fatalf("password in the log")
	}
	if parent != nil && res.Checkpoints.FromLSN != parent.link.ToLSN {
		t.Fatalf("incremental from_lsn %d, want parent's to_lsn %d", res.Checkpoints.FromLSN, parent.link.ToLSN)
	}
	if res.Checkpoints.ToLSN < res.Checkpoints.FromLSN || res.Checkpoints.LastLSN < res.Checkpoints.ToLSN {
		t.Fatalf("checkpoints %+v", res.Checkpoints)
	}
	sum := sha256.Sum256(buf.Bytes())
	st := &stored{data: buf.Bytes(), sum: hex.EncodeToString(sum[:]), res: res}
	st.link = Link{ID: id, Incremental: parent != nil, FromLSN: res.Checkpoints.FromLSN, ToLSN: res.Checkpoints.ToLSN,
		Size: int64(buf.Len()),
		Check: func(context.Context) error {
			got := sha256.Sum256(st.data)
			if hex.EncodeToString(got[:]) != st.sum {
				return errors.New("sha256 mismatch")
			}
			return nil
		},
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(st.data)), nil },
	}
	return st
}

// PhysicalFor is the options of a backup on top of parent (nil: a full).
func PhysicalFor(datadir string, parent *stored) dump.PhysicalOptions {
	o := dump.PhysicalOptions{Datadir: datadir}
	if parent != nil {
		o.IncrementalLSN = parent.link.ToLSN
	}
	return o
}

// restoreAndFingerprint restores links, starts a server on the result and
// fingerprints shop.items.
func restoreAndFingerprint(t *testing.T, links []Link) string {
	t.Helper()
	target := filepath.Join(openDir(t), "restored")
	var log strings.Builder
	if err := Restore(context.Background(), links, RestoreOptions{TargetDir: target, WorkDir: openDir(t), Owner: "mysql", Log: &log}); err != nil {
		t.Fatalf("restore: %v\n%s", err, log.String())
	}
	srv, err := StartServer(context.Background(), ServerOptions{Datadir: target, SkipGrants: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	db := srv.DB("root", "", "shop")
	defer db.Close()
	return fingerprint(t, db)
}

// A full, rows, an incremental, rows, a second incremental: restoring each
// point gives exactly the rows at that point. A corrupted middle link is
// refused before anything is written, naming it.
func TestChainRestoresEachPoint(t *testing.T) {
	s := startSource(t)
	s.exec(t, "INSERT INTO items VALUES (1,'a',1),(2,'b',2),(3,'c',3)")
	full := backup(t, s, "b-full", nil)
	want0 := fingerprint(t, s.db)

	s.exec(t, "INSERT INTO items VALUES (4,'d',4),(5,'e',5)", "UPDATE items SET qty=qty+10 WHERE id=1", "DELETE FROM items WHERE id=2")
	inc1 := backup(t, s, "b-inc1", full)
	want1 := fingerprint(t, s.db)

	s.exec(t, "INSERT INTO items SELECT id+100, CONCAT('x',name), qty FROM items", "UPDATE items SET name='z' WHERE id=3")
	inc2 := backup(t, s, "b-inc2", inc1)
	want2 := fingerprint(t, s.db)

	if want0 == want1 || want1 == want2 {
		t.Fatalf("the points do not differ: %s %s %s", want0, want1, want2)
	}
	for i, c := range []struct {
		links []Link
		want  string
	}{
		{[]Link{full.link}, want0},
		{[]Link{full.link, inc1.link}, want1},
		{[]Link{full.link, inc1.link, inc2.link}, want2},
	} {
		if got := restoreAndFingerprint(t, c.links); got != c.want {
			t.Errorf("point %d: restored %s, want %s", i, got, c.want)
		}
	}

	t.Run("corrupt middle link", func(t *testing.T) {
		bad := *inc1
		bad.data = append([]byte(nil), inc1.data...)
		bad.data[len(bad.data)/2] ^= 0xff
		badLink := inc1.link
		badLink.Check = func(context.Context) error {
			got := sha256.Sum256(bad.data)
			if hex.EncodeToString(got[:]) != bad.sum {
				return errors.New("sha256 mismatch")
			}
			return nil
		}
		opened := 0
		for _, l := range []*Link{&badLink} {
			l.Open = func(context.Context) (io.ReadCloser, error) {
				opened++
				return io.NopCloser(bytes.NewReader(bad.data)), nil
			}
		}
		target := filepath.Join(openDir(t), "restored")
		err := Restore(context.Background(), []Link{full.link, badLink, inc2.link}, RestoreOptions{TargetDir: target, WorkDir: openDir(t)})
		if err == nil || !strings.Contains(err.Error(), "link 2 (incremental b-inc1)") || !strings.Contains(err.Error(), "nothing was written") {
			t.Fatalf("err = %v, want a refusal naming link 2", err)
		}
		if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("target_dir exists after a refused restore: %v", err)
		}
		if opened != 0 {
			t.Errorf("the corrupt link was extracted %d times", opened)
		}
	})

	t.Run("broken continuity", func(t *testing.T) {
		gap := inc2.link
		gap.FromLSN = inc1.link.ToLSN + 1 // an incremental of a backup that is not in the chain
		err := Restore(context.Background(), []Link{full.link, inc1.link, gap}, RestoreOptions{TargetDir: filepath.Join(openDir(t), "x")})
		if err == nil || !strings.Contains(err.Error(), "link 3 (incremental b-inc2) starts at LSN") {
			t.Fatalf("err = %v, want a broken chain naming link 2", err)
		}
	})

	t.Run("not enough space", func(t *testing.T) {
		target := filepath.Join(openDir(t), "restored")
		err := Restore(context.Background(), []Link{full.link, inc1.link}, RestoreOptions{TargetDir: target, WorkDir: openDir(t),
			FreeSpace: func(string) (int64, error) { return 1024, nil }})
		if err == nil || !strings.Contains(err.Error(), "not enough free space to extract the chain") {
			t.Fatalf("err = %v, want a free-space refusal", err)
		}
		if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("target_dir exists after a refused restore: %v", err)
		}
	})
}

// openDir is a temp dir the mysql user can traverse (t.TempDir is 0700,
// and mariadbd runs as mysql when the tests run as root).
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "jagad-mphys-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// A real stream passes CheckXbstream; a flipped payload byte and a cut
// stream do not.
func TestCheckXbstream(t *testing.T) {
	s := startSource(t)
	s.exec(t, "INSERT INTO items VALUES (1,'a',1)")
	full := backup(t, s, "b-full", nil)
	st, err := dump.CheckXbstream(bytes.NewReader(full.data))
	if err != nil || st.Files < 5 || st.Bytes == 0 {
		t.Fatalf("real stream: %+v, %v", st, err)
	}
	bad := append([]byte(nil), full.data...)
	bad[len(bad)/2] ^= 0x01
	if _, err := dump.CheckXbstream(bytes.NewReader(bad)); err == nil {
		t.Error("a flipped byte passed")
	}
	if _, err := dump.CheckXbstream(bytes.NewReader(full.data[:len(full.data)-100])); err == nil {
		t.Error("a truncated stream passed")
	}
}

// Point in time: rows at T1, a destructive statement at T2; the full
// restored and the binary logs replayed up to a moment between them keep
// the T1 rows. Event times are set with SET TIMESTAMP, so nothing waits.
func TestBinlogReplayToPointInTime(t *testing.T) {
	s := startSourceWith(t, true)
	s.exec(t, "INSERT INTO items VALUES (1,'a',1),(2,'b',2)")
	full := backup(t, s, "b-full", nil)
	res := full.res
	if res.BinlogFile == "" || res.BinlogPos == 0 {
		t.Fatalf("no binlog coordinates in the backup: %q %d", res.BinlogFile, res.BinlogPos)
	}
	t1 := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	t2 := t1.Add(10 * time.Minute)
	ctx := context.Background()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf("SET TIMESTAMP = %d", t1.Unix()),
		"INSERT INTO items VALUES (3,'c',3),(4,'d',4)", "UPDATE items SET qty = 100 WHERE id = 1",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	wantT1 := fingerprint(t, s.db)
	for _, q := range []string{fmt.Sprintf("SET TIMESTAMP = %d", t2.Unix()), "DELETE FROM items", "FLUSH BINARY LOGS"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close()
	if got := fingerprint(t, s.db); !strings.HasPrefix(got, "0 rows") {
		t.Fatalf("after the destructive statement: %s", got)
	}
	// The binary logs as an archive would hold them: copies.
	arch := openDir(t)
	files, err := BinlogsFrom(s.datadir, filepath.Join(s.datadir, "mysql-bin.index"), res.BinlogFile)
	if err != nil {
		t.Fatal(err)
	}
	var copies []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := filepath.Join(arch, filepath.Base(f))
		if err := os.WriteFile(c, b, 0o644); err != nil {
			t.Fatal(err)
		}
		copies = append(copies, c)
	}

	target := filepath.Join(openDir(t), "restored")
	if err := Restore(ctx, []Link{full.link}, RestoreOptions{TargetDir: target, WorkDir: openDir(t), Owner: "mysql"}); err != nil {
		t.Fatal(err)
	}
	srv, err := StartServer(ctx, ServerOptions{Datadir: target, SkipGrants: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	var log strings.Builder
	if err := ReplayBinlogs(ctx, srv, ReplayOptions{Files: copies, StartPos: res.BinlogPos, Stop: t1.Add(5 * time.Minute), Log: &log}); err != nil {
		t.Fatalf("replay: %v\n%s", err, log.String())
	}
	db := srv.DB("root", "", "shop")
	defer db.Close()
	if got := fingerprint(t, db); got != wantT1 {
		t.Errorf("restored to between T1 and T2: %s, want the T1 rows %s", got, wantT1)
	}
}
