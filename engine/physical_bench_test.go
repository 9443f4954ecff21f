package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/state"
)

// BenchmarkPhysicalBackup compares a physical base backup through Jagad
// (zstd + encryption, to local storage) with pg_basebackup -Ft -D - to
// /dev/null on a private server holding the benchmark's events table of
// JAGAD_BENCH_ROWS rows (default 300000). The ratio jagad/pg_basebackup is
// the acceptance figure (<= 1.2 on the 731 MB database).
func BenchmarkPhysicalBackup(b *testing.B) {
	srv := dbtest.PrivatePostgres(b)
	rows := 300000
	if v, err := strconv.Atoi(os.Getenv("JAGAD_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	srv.Exec(b, "", "CREATE DATABASE bench")
	srv.Exec(b, "bench", fmt.Sprintf(benchDataset, rows))
	srv.Exec(b, "bench", "VACUUM ANALYZE events")
	srv.Exec(b, "bench", "CHECKPOINT")
	bb := newBenchEngine(b)
	conn := bb.add(b, srv)
	bb.setCompression(b, "zstd")
	tool, err := dump.PgTool(context.Background(), dump.Tools{}, "pg_basebackup")
	if err != nil {
		b.Fatal(err)
	}
	var raw, jagad time.Duration
	var size int64
	for b.Loop() {
		start := time.Now()
		cmd := exec.Command(tool, "-D", "-", "-Ft", "-X", "fetch", "--checkpoint=fast", "--no-password",
			"-h", srv.Host, "-p", strconv.Itoa(srv.Port), "-U", srv.User)
		cmd.Env = append(os.Environ(), "PGPASSWORD="+srv.Password)
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = devnull, &stderr
		err = cmd.Run()
		_ = devnull.Close()
		if err != nil {
			b.Fatalf("pg_basebackup: %v: %s", err, stderr.String())
		}
		raw += time.Since(start)
		start = time.Now()
		bk := bb.physicalBackup(b, conn, "bench")
		jagad += time.Since(start)
		size = bk.SizeBytes
	}
	n := float64(b.N)
	b.Logf("cluster tar %d bytes (%d rows of events)", size, rows)
	b.ReportMetric(raw.Seconds()/n, "pg_basebackup-s")
	b.ReportMetric(jagad.Seconds()/n, "jagad-s")
	b.ReportMetric(jagad.Seconds()/raw.Seconds(), "jagad/pg_basebackup")
}

// physicalBackup runs an encrypted physical backup and waits for it.
func (bb *benchEngine) physicalBackup(b *testing.B, c state.Connection, db string) state.Backup {
	d := state.Database{ID: state.DerivedID(state.KindDatabase, c.ID+"/"+db), ConnectionID: c.ID, DBName: db, IsSelected: true}
	bb.put(b, func(tx *state.Tx) error { return state.Put(tx, d) })
	enc := true
	bk, err := bb.eng.StartBackup(context.Background(), BackupRequest{ConnectionID: c.ID, DatabaseID: d.ID,
		BackupType: state.BackupPhysical, Encrypt: &enc})
	if err != nil {
		b.Fatal(err)
	}
	for bk.Status != state.StatusSuccess {
		if bk.Status == state.StatusFailed {
			b.Fatalf("physical backup failed:\n%s", bk.LogOutput)
		}
		time.Sleep(20 * time.Millisecond)
		if bk, err = bb.eng.getBackup(bk.ID); err != nil {
			b.Fatal(err)
		}
	}
	return bk
}
