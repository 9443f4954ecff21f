package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/jagad/jagad/engine/cluster/etcdtest"
)

// TestClusterEtcdOutage: etcd stopped across a slot for longer than the
// lease TTL: no member starts a run while it cannot hold its claims (no
// backup is created during the outage, the refusals are counted); when
// etcd returns the group catches the missed slot up, once per schedule.
func TestClusterEtcdOutage(t *testing.T) {
	t.Parallel() // minutes of waiting for cron slots; each has its own etcd, daemons and dirs
	if testing.Short() {
		t.Skip("runs two daemons for about three minutes")
	}
	obsRequirePostgres(t)
	srv := etcdtest.Start(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jagad.yaml")
	const schedules = 3
	var names []string
	for i := range schedules {
		names = append(names, fmt.Sprint("outage-", i))
	}
	writeFile(t, cfg, clusterYAML(dir, "", names...)+clusterSection(srv))
	var ods []*obsDaemon
	for i := range 2 {
		env := readyEnv(filepath.Join(dir, fmt.Sprint("m", i)), cfg)
		env["JAGAD_CLUSTER_MEMBER"] = fmt.Sprint("m", i)
		od := startObsDaemon(t, env)
		od.waitCode("/readyz", http.StatusOK)
		od.login("admin", env["JAGAD_ADMIN_PASS"])
		ods = append(ods, od)
	}
	cli := srv.Client()
	finishedThrough := func() (oldest time.Time) {
		r, err := cli.Get(t.Context(), "/jagad/jagad-test/slots/", clientv3.WithPrefix())
		if err != nil {
			t.Fatalf("slot records: %v", err)
		}
		if len(r.Kvs) < schedules {
			return time.Time{}
		}
		for i, kv := range r.Kvs {
			sec, _ := strconv.ParseInt(string(kv.Value), 10, 64)
			if at := time.Unix(sec, 0).UTC(); i == 0 || at.Before(oldest) {
				oldest = at
			}
		}
		return oldest
	}
	// A first slot finished by every schedule, then etcd stops late in a
	// minute and comes back 15 s after the next slot.
	waitUntil(t, 3*time.Minute, "a first finished slot", func() bool {
		f := finishedThrough()
		return !f.IsZero() && f.Second() == 0
	})
	for time.Now().Second() < 45 {
		time.Sleep(200 * time.Millisecond)
	}
	stopped := time.Now().UTC()
	missed := stopped.Truncate(time.Minute).Add(time.Minute)
	srv.Stop()
	for _, od := range ods {
		od.waitCode("/readyz", http.StatusServiceUnavailable)
	}
	for time.Now().Before(missed.Add(15 * time.Second)) {
		time.Sleep(200 * time.Millisecond)
	}
	refused := 0.0
	for _, od := range ods {
		_, metrics := od.do("GET", "/metrics", "", nil)
		for _, l := range strings.Split(string(metrics), "\n") {
			if v, ok := strings.CutPrefix(l, `jagad_cluster_claims_refused_total{reason="not_in_group"} `); ok {
				n, _ := strconv.ParseFloat(v, 64)
				refused += n
			}
		}
	}
	if refused < schedules {
		t.Errorf("%g slots refused for want of a lease during the outage, want at least %d", refused, schedules)
	}
	restarted := time.Now().UTC()
	srv.Start()
	t.Logf("etcd stopped %s, missed slot %s, etcd back %s", stopped.Format("15:04:05"), missed.Format("15:04"), restarted.Format("15:04:05"))
	waitUntil(t, time.Minute, "the missed slot caught up", func() bool { return !finishedThrough().Before(missed) })

	type backup struct {
		ID           string    `json:"id"`
		ScheduleName string    `json:"schedule_name"`
		CreatedAt    time.Time `json:"created_at"`
		Status       string    `json:"status"`
		LogOutput    string    `json:"log_output"`
	}
	during := 0
	caught := map[string]int{}
	for _, od := range ods {
		var bs []backup
		if err := json.Unmarshal(od.api("GET", "/api/backups?limit=100", nil, http.StatusOK), &bs); err != nil {
			t.Fatalf("list backups: %v", err)
		}
		for _, bk := range bs {
			if strings.HasPrefix(bk.LogOutput, "CLUSTER: record learned") {
				continue
			}
			switch {
			case bk.CreatedAt.After(stopped) && bk.CreatedAt.Before(restarted):
				during++
			case !bk.CreatedAt.Before(restarted) && bk.CreatedAt.Before(missed.Add(time.Minute)):
				caught[bk.ScheduleName]++
			}
		}
	}
	if during != 0 {
		t.Errorf("%d backups started while etcd was down", during)
	}
	for i := range schedules {
		if n := caught[fmt.Sprint("outage-", i)]; n != 1 {
			t.Errorf("outage-%d: the missed slot ran %d times after etcd returned, want once", i, n)
		}
	}
}
