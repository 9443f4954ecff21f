package engine

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// BenchmarkWALArchiveUnderLoad runs pgbench's write load (JAGAD_BENCH_LOAD_S
// seconds, default 30, 4 clients, scale JAGAD_BENCH_PGBENCH_SCALE, default 5)
// on a throwaway server whose connection has wal_archive on (zstd +
// encryption to local storage), and reports the WAL generated next to the
// segments archived meanwhile, the archive lag the engine's metrics showed
// (jagad_wal_archive_lag_bytes / _seconds, sampled every second; the engine
// measures them every 5 s) and how long the archive took to hold the last
// segment after the load stopped (catch-up-s). cpu-s is this process's CPU
// (the archiver's uploads) plus pgbench's. Issue 16: archiving keeps up
// with a pgbench write load on this machine, lag bounded.
func BenchmarkWALArchiveUnderLoad(b *testing.B) {
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatalf("pgbench not installed: %v", err)
		}
		b.Skipf("pgbench not installed: %v", err)
	}
	loadS, scale := envInt("JAGAD_BENCH_LOAD_S", 30), envInt("JAGAD_BENCH_PGBENCH_SCALE", 5)
	srv := dbtest.PrivatePostgres(b)
	srv.Exec(b, "", "CREATE DATABASE bench")
	pgb := func(args ...string) string {
		cmd := exec.Command(pgbench, append([]string{"-h", srv.Host, "-p", strconv.Itoa(srv.Port), "-U", srv.User}, args...)...)
		cmd.Env = append(os.Environ(), "PGPASSWORD="+srv.Password)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("pgbench %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	pgb("-i", "-q", "-s", strconv.Itoa(scale), "bench")

	bb := newWALBenchEngine(b)
	bb.setCompression(b, "zstd")
	c := state.Connection{Meta: state.Meta{ID: state.NewID(state.KindConnection), CreatedAt: time.Now()},
		ConnectionSpec: state.ConnectionSpec{Name: "pg", DBType: srv.DBType, Host: srv.Host, Port: srv.Port,
			Username: srv.User, Password: state.Secret(srv.Password), SSLMode: "disable",
			WalArchive: &state.WalArchive{Enabled: true, Storage: "local", SpoolMaxBytes: 1 << 30}}}
	bb.put(b, func(tx *state.Tx) error { return state.Put(tx, c) })
	db := srv.DB(b, "bench")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var active bool
		err := db.QueryRow("SELECT active FROM pg_replication_slots WHERE slot_name = 'jagad_pg'").Scan(&active)
		if err == nil && active {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the archiver did not start streaming: %v", err)
		}
	}
	st, err := bb.eng.stores.open(bb.prov)
	if err != nil {
		b.Fatal(err)
	}
	m := bb.eng.wal.m
	lsn := func() float64 {
		var v float64
		if err := db.QueryRow("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')").Scan(&v); err != nil {
			b.Fatal(err)
		}
		return v
	}

	for b.Loop() {
		seg0 := testutil.ToFloat64(m.segments.WithLabelValues(c.Name))
		lsn0 := lsn()
		stop := make(chan struct{})
		samples := make(chan [2]float64, 1)
		go func() {
			var maxB, maxS, sumB float64
			var n int
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					samples <- [2]float64{maxB, maxS}
					samples <- [2]float64{sumB / float64(max(n, 1)), float64(n)}
					return
				case <-tick.C:
				}
				lb := testutil.ToFloat64(m.lagBytes.WithLabelValues(c.Name))
				ls := testutil.ToFloat64(m.lagSecs.WithLabelValues(c.Name))
				maxB, maxS, sumB, n = max(maxB, lb), max(maxS, ls), sumB+lb, n+1
			}
		}()
		cpu0 := cpuSeconds(b)
		out := pgb("-n", "-c", "4", "-j", "2", "-T", strconv.Itoa(loadS), "bench")
		cpu := cpuSeconds(b) - cpu0
		close(stop)
		peak, mean := <-samples, <-samples
		wal := lsn() - lsn0
		during := testutil.ToFloat64(m.segments.WithLabelValues(c.Name)) - seg0

		// Close the last segment and time until the archive holds it.
		var last string
		if err := db.QueryRow("SELECT pg_walfile_name(pg_switch_wal())").Scan(&last); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		for ; ; time.Sleep(100 * time.Millisecond) {
			infos, err := st.List(context.Background(), walPrefix(c.Name)+last)
			if err != nil {
				b.Fatal(err)
			}
			if hasManifest(infos) {
				break
			}
			if time.Since(t0) > 5*time.Minute {
				b.Fatalf("segment %s not archived 5 minutes after the load", last)
			}
		}
		catchUp := time.Since(t0)
		tps := 0.0
		if mm := regexp.MustCompile(`tps = ([0-9.]+)`).FindStringSubmatch(out); mm != nil {
			tps, _ = strconv.ParseFloat(mm[1], 64)
		}
		b.ReportMetric(wal/(1<<20), "wal-MB")
		b.ReportMetric(wal/(1<<20)/float64(loadS), "wal-MB/s")
		b.ReportMetric(during, "segments-during")
		b.ReportMetric(wal/float64(16<<20), "segments-written")
		b.ReportMetric(peak[0]/(1<<20), "max-lag-MB")
		b.ReportMetric(mean[0]/(1<<20), "mean-lag-MB")
		b.ReportMetric(peak[1], "max-lag-s")
		b.ReportMetric(catchUp.Seconds(), "catch-up-s")
		b.ReportMetric(tps, "pgbench-tps")
		b.ReportMetric(cpu, "cpu-s")
		b.ReportMetric(loadAvg(), "load1")
		b.Logf("%d s of pgbench (scale %d, 4 clients): %.0f MB of WAL, %.0f segments archived during it; lag max %.1f MB / %.0f s, mean %.1f MB over %.0f samples; last segment archived %.1f s after the load",
			loadS, scale, wal/(1<<20), during, peak[0]/(1<<20), peak[1], mean[0]/(1<<20), mean[1], catchUp.Seconds())
	}
}

func hasManifest(infos []storage.Info) bool {
	for _, in := range infos {
		if strings.HasSuffix(in.Key, objfmt.ManifestSuffix) {
			return true
		}
	}
	return false
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// newWALBenchEngine is newBenchEngine with a spool directory for WAL.
func newWALBenchEngine(b *testing.B) *benchEngine {
	b.Helper()
	st, err := state.Open(state.Options{Dir: b.TempDir(), MasterKey: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	k, _ := crypt.GenerateKey()
	kr, err := crypt.NewKeyring("k1", map[string]string{"k1": k}, "")
	if err != nil {
		b.Fatal(err)
	}
	eng, err := New(Options{Store: st, SpoolDir: b.TempDir(), Keys: func() (*crypt.Keyring, error) { return kr, nil }})
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	bb := &benchEngine{eng: eng, store: st}
	b.Cleanup(func() {
		_ = eng.Shutdown(context.Background())
		_ = st.Close()
	})
	bb.prov = state.Provider{Meta: state.Meta{ID: state.NewID(state.KindProvider), CreatedAt: time.Now()},
		ProviderSpec: state.ProviderSpec{Name: "local", ProviderType: "local", Path: b.TempDir(), IsDefault: true}}
	bb.put(b, func(tx *state.Tx) error { return state.Put(tx, bb.prov) })
	return bb
}
