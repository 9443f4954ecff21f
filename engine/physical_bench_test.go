package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/state"
)

// BenchmarkPhysicalBackup compares a physical base backup through Jagad
// (zstd + encryption, to local storage) with pg_basebackup -Ft -D - to
// /dev/null on a private server holding the benchmark's events table of
// JAGAD_BENCH_ROWS rows (default 300000). The ratio jagad/pg_basebackup is
// the acceptance figure (<= 1.2 on the 731 MB database).
// JAGAD_BENCH_COMPRESSION (none, gzip; default zstd) changes Jagad's side.
// The server's CPU seconds are reported for both (Jagad's include the row
// counts it takes beside the copy). JAGAD_BENCH_FLOOR=1 adds the per-stage
// CPU floor (physical_stages_bench_test.go); JAGAD_BENCH_ZSTD_VARIANTS=1
// also times libzstd with 2 workers and at negative levels there.
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
	comp := "zstd"
	if v := os.Getenv("JAGAD_BENCH_COMPRESSION"); v != "" {
		comp = v // none or gzip: how much of the gap compression is
	}
	bb.setCompression(b, comp)
	tool, err := dump.PgTool(context.Background(), dump.Tools{}, "pg_basebackup")
	if err != nil {
		b.Fatal(err)
	}
	var raw, jagad time.Duration
	var rawCPU, jagadCPU, rawSrv, jagadSrv float64
	var size int64

	for b.Loop() {
		srv0 := serverCPU(b, srv)
		start := time.Now()
		cpu0 := cpuSeconds(b)
		cmd := plainBaseBackup(srv, tool)
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
		rawCPU += cpuSeconds(b) - cpu0
		time.Sleep(200 * time.Millisecond) // the walsender's exit reaches the postmaster's counts
		srv1 := serverCPU(b, srv)
		rawSrv += srv1 - srv0
		start = time.Now()
		cpu0 = cpuSeconds(b)
		bk := bb.physicalBackup(b, conn, "bench")
		jagad += time.Since(start)
		jagadCPU += cpuSeconds(b) - cpu0
		time.Sleep(200 * time.Millisecond)
		jagadSrv += serverCPU(b, srv) - srv1
		size = bk.SizeBytes
	}
	n := float64(b.N)
	t := dbclient.Target{DBType: srv.DBType, Host: srv.Host, Port: srv.Port, User: srv.User, Password: srv.Password, SSLMode: "disable", Database: "bench"}
	// The row counts Jagad records run beside the copy (dump.BaseBackup);
	// their time alone, for scale.
	start := time.Now()
	if _, err := dbclient.TableCounts(context.Background(), t, "bench"); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "rowcount-s")
	b.Logf("cluster tar %d bytes (%d rows of events), compression %s", size, rows, comp)
	b.ReportMetric(raw.Seconds()/n, "pg_basebackup-s")
	b.ReportMetric(jagad.Seconds()/n, "jagad-s")
	b.ReportMetric(jagad.Seconds()/raw.Seconds(), "jagad/pg_basebackup")
	b.ReportMetric(rawCPU/n, "pg_basebackup-cpu-s")
	b.ReportMetric(jagadCPU/n, "jagad-cpu-s")
	b.ReportMetric(rawSrv/n, "pg_basebackup-server-cpu-s")
	b.ReportMetric(jagadSrv/n, "jagad-server-cpu-s")
	b.ReportMetric(loadAvg(), "load1")
	if os.Getenv("JAGAD_BENCH_FLOOR") != "" {
		pipelineFloor(b, srv, tool, size, raw.Seconds()/n, rawCPU/n) // physical_stages_bench_test.go
	}
}

// cpuSeconds is the user+system CPU time of this process (the engine's
// pipeline: compression, hashing, encryption) and of its waited-for
// children (pg_basebackup, mariadb-backup) so far.
func cpuSeconds(b *testing.B) float64 {
	var self, kids syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids); err != nil {
		b.Fatal(err)
	}
	return tvSec(self.Utime) + tvSec(self.Stime) + tvSec(kids.Utime) + tvSec(kids.Stime)
}

func tvSec(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// plainBaseBackup is the benchmark's baseline: pg_basebackup of srv as one
// tar on stdout, with the flags Jagad uses (dump.BaseBackup).
func plainBaseBackup(srv *dbtest.Server, tool string) *exec.Cmd {
	cmd := exec.Command(tool, "-D", "-", "-Ft", "-X", "fetch", "--checkpoint=fast", "--no-password",
		"-h", srv.Host, "-p", strconv.Itoa(srv.Port), "-U", srv.User)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+srv.Password)
	return cmd
}

// loadAvg is the machine's 1-minute load average (0 when unreadable), so a
// ratio measured on a busy machine says so.
func loadAvg() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// physicalBackup runs an encrypted physical backup and waits for it.
func (bb *benchEngine) physicalBackup(b *testing.B, c state.Connection, db string) state.Backup {
	return bb.typedBackup(b, c, db, state.BackupPhysical)
}
