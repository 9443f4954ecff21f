package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	czstd "github.com/DataDog/zstd"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/storage"
)

// stageCost is the CPU and wall time of one pipeline stage run alone.
type stageCost struct{ cpu, wall float64 }

// selfCPU is this process's user+system CPU time so far (children excluded).
func selfCPU(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return tvSec(ru.Utime) + tvSec(ru.Stime)
}

// measureStage runs fn alone and returns its CPU and wall time.
func measureStage(b *testing.B, fn func() error) stageCost {
	b.Helper()
	cpu0, start := selfCPU(b), time.Now()
	if err := fn(); err != nil {
		b.Fatal(err)
	}
	return stageCost{cpu: selfCPU(b) - cpu0, wall: time.Since(start).Seconds()}
}

// writeChunks writes data to w in the pipeline's 1 MiB chunks.
func writeChunks(w io.Writer, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), 1<<20)
		if _, err := w.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// pipelineFloor measures, on one pg_basebackup tar of srv held in memory,
// each stage Jagad adds to pg_basebackup alone: libzstd level 1, SHA-256
// of the compressed stream, AES-256-GCM sealing (crypt.NewWriter) and
// storing the sealed bytes in local storage (write + fsync). It reports
// their CPU seconds, their sum (the CPU a backup must spend on top of
// pg_basebackup and the server), and the server's CPU for one plain
// pg_basebackup, so the acceptance ratio can be set against the floor
// the machine allows:
//
//	floor wall >= max(pg_basebackup wall, (server + pg_basebackup + stages CPU) / cores)
func pipelineFloor(b *testing.B, srv *dbtest.Server, tool string, size int64, rawWall, rawCPU float64) {
	var tar bytes.Buffer
	tar.Grow(int(size) + 16<<20) // the tar of the loop's backups and some WAL more
	serverCPU0 := serverCPU(b, srv)
	cmd := plainBaseBackup(srv, tool)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &tar, &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("pg_basebackup: %v: %s", err, stderr.String())
	}
	time.Sleep(200 * time.Millisecond) // the walsender's exit reaches the postmaster's counts
	srvCPU := serverCPU(b, srv) - serverCPU0
	data := tar.Bytes()

	var comp bytes.Buffer
	comp.Grow(len(data) / 2)
	zstd := measureStage(b, func() error {
		z := czstd.NewWriterLevel(&comp, 1)
		if err := writeChunks(z, data); err != nil {
			return err
		}
		return z.Close()
	})
	compressed := comp.Bytes()
	sum := measureStage(b, func() error {
		h := sha256.New()
		return writeChunks(h, compressed)
	})
	key, err := crypt.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	kr, err := crypt.NewKeyring("k1", map[string]string{"k1": key}, "")
	if err != nil {
		b.Fatal(err)
	}
	var sealed bytes.Buffer
	sealed.Grow(len(compressed) + len(compressed)/1000 + 4096)
	aes := measureStage(b, func() error {
		w, err := crypt.NewWriter(&sealed, kr)
		if err != nil {
			return err
		}
		if err := writeChunks(w, compressed); err != nil {
			return err
		}
		return w.Close()
	})
	st := storage.NewLocal(b.TempDir())
	store := measureStage(b, func() error {
		_, err := st.Put(context.Background(), "floor/object", bytes.NewReader(sealed.Bytes()))
		return err
	})
	stages := zstd.cpu + sum.cpu + aes.cpu + store.cpu
	b.Logf("floor on %d tar bytes (%d compressed): zstd %.2f s CPU (%.2f wall), sha256 of the compressed %.2f, aes-gcm %.2f, store+fsync %.2f CPU (%.2f wall); server %.2f CPU for one pg_basebackup",
		len(data), len(compressed), zstd.cpu, zstd.wall, sum.cpu, aes.cpu, store.cpu, store.wall, srvCPU)
	if os.Getenv("JAGAD_BENCH_ZSTD_VARIANTS") != "" {
		zstdVariants(b, data)
	}
	b.ReportMetric(zstd.cpu, "floor-zstd-cpu-s")
	b.ReportMetric(sum.cpu, "floor-sha256-cpu-s")
	b.ReportMetric(aes.cpu, "floor-aesgcm-cpu-s")
	b.ReportMetric(store.cpu, "floor-store-cpu-s")
	b.ReportMetric(stages, "floor-stages-cpu-s")
	b.ReportMetric(srvCPU, "floor-server-cpu-s")
	cores := float64(runtime.NumCPU())
	floor := max(rawWall, (srvCPU+rawCPU+stages)/cores)
	b.ReportMetric(floor/rawWall, "floor-ratio")
}

// serverCPU is the CPU time of srv's postmaster and of its exited
// backends (walsenders, the row count's session) so far.
func serverCPU(b *testing.B, srv *dbtest.Server) float64 {
	var dir string
	if err := srv.DB(b, "").QueryRow("SHOW data_directory").Scan(&dir); err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		b.Fatal(err)
	}
	pid := strings.SplitN(string(raw), "\n", 2)[0]
	stat, err := os.ReadFile("/proc/" + strings.TrimSpace(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	ticks := 0.0
	for _, i := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime (fields 14-17)
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			b.Fatal(err)
		}
		ticks += v
	}
	return ticks / 100 // USER_HZ
}

// zstdVariants times libzstd settings the pipeline does not use, on the
// same tar: level 1 with 2 worker threads, and the faster negative levels
// (zstd --fast=N), with their compressed sizes.
func zstdVariants(b *testing.B, data []byte) {
	for _, v := range []struct{ level, workers int }{{1, 2}, {-1, 0}, {-3, 0}} {
		var out countingDiscard
		c := measureStage(b, func() error {
			z := czstd.NewWriterLevel(&out, v.level)
			if v.workers > 0 {
				if err := z.SetNbWorkers(v.workers); err != nil {
					return err
				}
			}
			if err := writeChunks(z, data); err != nil {
				return err
			}
			return z.Close()
		})
		b.Logf("zstd level %d, %d workers: %.2f s CPU, %.2f s wall, %d bytes", v.level, v.workers, c.cpu, c.wall, out.n)
	}
}

// countingDiscard counts and drops what is written to it.
type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
