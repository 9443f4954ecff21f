package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// loadCase is one open-loop load: GETs of path at rate per second for dur.
// inm: send the ETag of a first GET as If-None-Match (a poller), and expect
// 304s.
type loadCase struct {
	name string
	path string
	rate int
	dur  time.Duration
	inm  bool
	// writes: PUT one schedule once a second during the case, so every
	// schedule list's version moves and the next GET renders it again (the
	// cost of a cache miss, as while backups run and records change).
	writes bool
	base   string // the name of the baseline case (same rate, same run)
}

// loadResult is what one case measured.
type loadResult struct {
	lats   []time.Duration // from each request's scheduled send time
	errors int
	first  string        // the first error
	cpu    time.Duration // the daemon's CPU time during the case
}

// BenchmarkLoadP99 is issue 12's list load test against the real daemon
// (bin/jagad, or JAGAD_BIN; built when missing) on a store seeded with
// 10,000 backups and 1,000 schedules. An open-loop client sends each
// request at its scheduled time, whether or not earlier ones have
// answered, and counts latency from that scheduled time (so a stalled
// server shows as queueing delay, unlike a closed loop). Per case it reports
// p50/p99/max latency, errors (non-2xx/304, transport errors, 5 s timeouts)
// and the daemon's CPU-ms per request from /proc/PID/stat, next to /livez at
// the same rate in the same run as the baseline. One op is the whole fixed
// load (about a minute); -benchtime 1x runs it once.
func BenchmarkLoadP99(b *testing.B) {
	const sec = time.Second
	cases := []loadCase{
		{name: "livez@200", path: "/livez", rate: 200, dur: 10 * sec},
		{name: "backups50@200", path: "/api/backups?limit=50", rate: 200, dur: 10 * sec, base: "livez@200"},
		{name: "schedules50@200", path: "/api/schedules?limit=50", rate: 200, dur: 10 * sec, base: "livez@200"},
		{name: "schedules-304@200", path: "/api/schedules", rate: 200, dur: 10 * sec, inm: true, base: "livez@200"},
		{name: "sched50+put/s@200", path: "/api/schedules?limit=50", rate: 200, dur: 10 * sec, writes: true, base: "livez@200"},
		{name: "livez@20", path: "/livez", rate: 20, dur: 10 * sec},
		{name: "schedules-all@20", path: "/api/schedules", rate: 20, dur: 10 * sec, base: "livez@20"},
		{name: "sched-all+put/s@20", path: "/api/schedules", rate: 20, dur: 10 * sec, writes: true, base: "livez@20"},
	}
	if only := os.Getenv("LOAD_CASES"); only != "" { // e.g. LOAD_CASES=livez@20,schedules-all@20
		cases = slices.DeleteFunc(cases, func(c loadCase) bool { return !slices.Contains(strings.Split(only, ","), c.name) })
	}
	d := startLoadDaemon(b, 10_000, 1_000)
	// Warm up (the daemon just registered 1,000 schedules; Badger settles).
	d.run(b, loadCase{name: "warm-up", path: "/livez", rate: 100, dur: 3 * time.Second})
	results := map[string]*loadResult{}
	b.ResetTimer()
	for range b.N {
		for _, c := range cases {
			t0 := time.Now()
			r := d.run(b, c)
			fmt.Fprintf(os.Stderr, "load: %s done in %s\n", c.name, time.Since(t0).Round(time.Millisecond))
			if prev := results[c.name]; prev != nil {
				prev.lats = append(prev.lats, r.lats...)
				prev.errors += r.errors
				prev.cpu += r.cpu
				continue
			}
			results[c.name] = r
		}
	}
	b.StopTimer()
	b.Logf("open-loop load on the real daemon, %d backups, %d schedules (latency from the scheduled send time):", 10_000, 1_000)
	b.Logf("%-18s %6s %8s %8s %8s %7s %11s  %s", "case", "reqs", "p50 ms", "p99 ms", "max ms", "errors", "CPU ms/req", "p99 vs baseline")
	for _, c := range cases {
		r := results[c.name]
		ratio := ""
		if base := results[c.base]; base != nil {
			ratio = fmt.Sprintf("%.2fx of %s (%.2f ms)", pct(r.lats, 0.99)/pct(base.lats, 0.99), c.base, pct(base.lats, 0.99))
		}
		n := len(r.lats) + r.errors
		cpuPer := float64(r.cpu.Microseconds()) / 1000 / float64(max(n, 1))
		b.Logf("%-18s %6d %8.2f %8.2f %8.2f %7d %11.3f  %s", c.name, n, pct(r.lats, 0.5), pct(r.lats, 0.99),
			pct(r.lats, 1), r.errors, cpuPer, ratio)
		if r.errors > 0 {
			b.Logf("%-18s first error: %s", c.name, r.first)
		}
		b.ReportMetric(pct(r.lats, 0.99), c.name+"-p99-ms")
		b.ReportMetric(float64(r.errors), c.name+"-errors")
		b.ReportMetric(cpuPer, c.name+"-cpu-ms/req")
	}
}

// pct is the p-quantile of lats in milliseconds (sorts lats).
func pct(lats []time.Duration, p float64) float64 {
	if len(lats) == 0 {
		return 0
	}
	slices.Sort(lats)
	return float64(lats[int(p*float64(len(lats)-1))].Microseconds()) / 1000
}

// loadDaemon is a running bin/jagad serve on a seeded data dir.
type loadDaemon struct {
	url, token string
	cmd        *exec.Cmd
	client     *http.Client
}

func startLoadDaemon(b *testing.B, backups, schedules int) *loadDaemon {
	b.Helper()
	bin := jagadBinary(b)
	dir := b.TempDir()
	const masterKey, pass = "load-bench-master-key", "load-bench-pass"
	seedLoadStore(b, dir, masterKey, backups, schedules)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", "--listen", addr)
	cmd.Env = append(os.Environ(), "JAGAD_DATA_DIR="+dir, "JAGAD_MASTER_KEY="+masterKey, "JAGAD_ADMIN_PASS="+pass,
		"JAGAD_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	d := &loadDaemon{url: "http://" + addr, cmd: cmd, client: &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxIdleConns: 512},
	}}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := d.client.Get(d.url + "/readyz")
		if err == nil {
			drain(resp)
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("daemon not ready after 60 s:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": pass})
	resp, err := d.client.Post(d.url+"/api/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.Token == "" {
		b.Fatalf("login: %d, %v", resp.StatusCode, err)
	}
	d.token = tok.Token
	return d
}

// jagadBinary is JAGAD_BIN, else ../bin/jagad (make build), else a fresh
// build of ./cmd/jagad.
func jagadBinary(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("JAGAD_BIN"); p != "" {
		return p
	}
	if p, err := filepath.Abs("../bin/jagad"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	out := filepath.Join(b.TempDir(), "jagad")
	cmd := exec.Command("go", "build", "-o", out, "../cmd/jagad")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build jagad: %v\n%s", err, msg)
	}
	return out
}

// seedLoadStore writes a connection, a database, a local provider, n
// schedules (yearly cron, so none fires) and m backups spread over them into
// the data dir, through package state as the daemon will read it.
func seedLoadStore(b *testing.B, dir, masterKey string, backups, schedules int) {
	b.Helper()
	key, _, err := state.LoadOrCreateMasterKey(dir, masterKey)
	if err != nil {
		b.Fatal(err)
	}
	st, err := state.Open(state.Options{Dir: dir, MasterKey: key, GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	meta := func(k state.Kind) state.Meta {
		return state.Meta{ID: state.NewID(k), ManagedBy: state.ManagedByAPI, CreatedAt: at, UpdatedAt: at}
	}
	conn := state.Connection{Meta: meta(state.KindConnection), ConnectionSpec: state.ConnectionSpec{Name: "prod-pg",
		DBType: "postgresql", Host: "127.0.0.1", Port: 5432, Username: "postgres", Password: "pw", SSLMode: "disable"}}
	db := state.Database{ID: state.NewID(state.KindDatabase), ConnectionID: conn.ID, DBName: "app", IsSelected: true, CreatedAt: at}
	prov := state.Provider{Meta: meta(state.KindProvider), ProviderSpec: state.ProviderSpec{Name: "local",
		ProviderType: "local", Path: filepath.Join(dir, "objects"), IsDefault: true}}
	scheds := make([]string, schedules)
	err = st.Update(func(tx *state.Tx) error {
		for _, err := range []error{state.Put(tx, conn), state.Put(tx, db), state.Put(tx, prov)} {
			if err != nil {
				return err
			}
		}
		for i := range scheds {
			sc := state.Schedule{Meta: meta(state.KindSchedule), ScheduleSpec: state.ScheduleSpec{
				Name: fmt.Sprintf("sched-%04d", i), ConnectionID: conn.ID, DatabaseID: db.ID, BackupType: "full",
				CronExpr: "0 3 1 1 *", StorageProviderID: prov.ID, RetentionFull: 7, Enabled: true,
				NotifTargetIDs: []string{}}}
			if err := state.Put(tx, sc); err != nil {
				return err
			}
			scheds[i] = sc.ID
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for start := 0; start < backups; start += 500 {
		err := st.Update(func(tx *state.Tx) error {
			for i := start; i < min(backups, start+500); i++ {
				t := at.Add(time.Duration(i) * time.Minute)
				bk := state.Backup{ID: state.NewID(state.KindBackup), ConnectionID: conn.ID, DatabaseID: db.ID,
					ScheduleID: scheds[i%len(scheds)], ConnectionName: "prod-pg", DatabaseName: "app",
					ScheduleName: fmt.Sprintf("sched-%04d", i%len(scheds)), BackupType: "full", Status: state.StatusSuccess,
					StorageProviderID: prov.ID, StoragePath: fmt.Sprintf("backups/prod-pg/app/bck_%d.pgdump.zst", i),
					SizeBytes: 4096, StoredSizeBytes: 1024, Compression: "zstd", LogOutput: "BACKUP: ok\n",
					StartedAt: &t, CompletedAt: &t, CreatedAt: t}
				if err := state.Put(tx, bk); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// run sends c's requests open-loop and waits for the last answer.
func (d *loadDaemon) run(b *testing.B, c loadCase) *loadResult {
	b.Helper()
	want := http.StatusOK
	var inm string
	if c.inm {
		resp, err := d.get(context.Background(), c.path, "")
		if err != nil {
			b.Fatal(err)
		}
		drain(resp)
		inm, want = resp.Header.Get("ETag"), http.StatusNotModified
	}
	n := c.rate * int(c.dur/time.Second)
	period := time.Second / time.Duration(c.rate)
	res := &loadResult{lats: make([]time.Duration, 0, n)}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	time.Sleep(2 * time.Second) // let the previous case's stragglers finish
	cpu0 := procCPU(d.cmd.Process.Pid)
	start := time.Now().Add(50 * time.Millisecond)
	if c.writes {
		stop := make(chan struct{})
		defer close(stop)
		go d.putSchedules(b, stop)
	}
	for i := range n {
		at := start.Add(time.Duration(i) * period)
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := d.get(context.Background(), c.path, inm)
			if err == nil {
				if err = drain(resp); err == nil && resp.StatusCode != want {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			lat := time.Since(at)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if res.errors == 0 {
					res.first = err.Error()
				}
				res.errors++
				return
			}
			res.lats = append(res.lats, lat)
		}()
	}
	wg.Wait()
	res.cpu = procCPU(d.cmd.Process.Pid) - cpu0
	return res
}

// putSchedules PUTs the first schedule once a second until stop.
func (d *loadDaemon) putSchedules(b *testing.B, stop <-chan struct{}) {
	resp, err := d.get(context.Background(), "/api/schedules?limit=1", "")
	if err != nil {
		b.Error(err)
		return
	}
	var list []struct{ ID string }
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || len(list) != 1 {
		b.Errorf("first schedule: %v", err)
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		body := fmt.Sprintf(`{"retention_full": %d}`, 7+i%2)
		req, _ := http.NewRequest("PUT", d.url+"/api/schedules/"+list[0].ID, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+d.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := d.client.Do(req)
		if err != nil {
			b.Error(err)
			return
		}
		if drain(resp); resp.StatusCode != http.StatusOK {
			b.Errorf("PUT schedule: %d", resp.StatusCode)
			return
		}
	}
}

func (d *loadDaemon) get(ctx context.Context, path, inm string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", d.url+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	if inm != "" {
		req.Header.Set("If-None-Match", inm)
	}
	return d.client.Do(req)
}

// procCPU is the user+system CPU time of process pid (/proc/PID/stat,
// fields 14 and 15, in clock ticks of 1/100 s on Linux).
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func drain(resp *http.Response) error {
	defer resp.Body.Close()
	_, err := io.Copy(io.Discard, resp.Body)
	return err
}
