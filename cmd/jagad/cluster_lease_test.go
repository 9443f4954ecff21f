package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/jagad/jagad/engine/cluster/etcdtest"
)

// TestClusterLeaseRevokedMidRun: two daemons on one jagad.yaml, a
// schedule every minute whose dump takes 15 s. When the owner's lease is
// revoked in etcd while its run dumps, that run is cut off at once and
// its backup ends failed with "cluster lease lost"; the slot then runs
// once more, to success, on whichever member owns it next — never both.
func TestClusterLeaseRevokedMidRun(t *testing.T) {
	t.Parallel() // up to two minutes of waiting for a cron slot
	if testing.Short() {
		t.Skip("waits for a cron slot")
	}
	obsRequirePostgres(t)
	srv := etcdtest.Start(t)
	dir := t.TempDir()
	realDump, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Fatal(err)
	}
	slow := filepath.Join(dir, "slow-pg_dump")
	writeFile(t, slow, "#!/bin/sh\ncase \"$1\" in --version) exec "+realDump+" \"$@\";; esac\n/bin/sleep 15\nexec "+realDump+" \"$@\"\n")
	if err := os.Chmod(slow, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "jagad.yaml")
	writeFile(t, cfg, clusterYAML(dir, "  pg_dump_path: "+slow+"\n", "revoked")+clusterSection(srv))
	var ods []*obsDaemon
	for i := range 2 {
		env := readyEnv(filepath.Join(dir, fmt.Sprint("m", i)), cfg)
		env["JAGAD_CLUSTER_MEMBER"] = fmt.Sprint("m", i)
		od := startObsDaemon(t, env)
		od.waitCode("/readyz", http.StatusOK)
		od.login("admin", env["JAGAD_ADMIN_PASS"])
		ods = append(ods, od)
	}
	type backup struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"created_at"`
		Status    string    `json:"status"`
		LogOutput string    `json:"log_output"`
	}
	own := func(od *obsDaemon) []backup { // the backups this member ran, not those it learned
		var bs, out []backup
		if err := json.Unmarshal(od.api("GET", "/api/backups?limit=100", nil, http.StatusOK), &bs); err != nil {
			t.Fatalf("list backups: %v", err)
		}
		for _, bk := range bs {
			if !strings.HasPrefix(bk.LogOutput, "CLUSTER: record learned") {
				out = append(out, bk)
			}
		}
		return out
	}
	owner, cut := -1, backup{}
	waitUntil(t, 3*time.Minute, "a scheduled run dumping", func() bool {
		for i, od := range ods {
			for _, bk := range own(od) {
				if bk.Status == "running" {
					owner, cut = i, bk
					return true
				}
			}
		}
		return false
	})
	slot := cut.CreatedAt.UTC().Truncate(time.Minute)
	cli := srv.Client()
	mk, err := cli.Get(t.Context(), fmt.Sprintf("/jagad/jagad-test/members/m%d", owner))
	if err != nil || len(mk.Kvs) != 1 {
		t.Fatalf("member key of m%d: %v %v", owner, mk, err)
	}
	if _, err := cli.Revoke(t.Context(), clientv3.LeaseID(mk.Kvs[0].Lease)); err != nil {
		t.Fatalf("revoke m%d's lease: %v", owner, err)
	}
	revoked := time.Now().UTC()
	t.Logf("m%d's lease revoked at %s while it ran the %s slot (backup %s)", owner, revoked.Format("15:04:05.000"), slot.Format("15:04"), cut.ID)
	waitUntil(t, time.Minute, "the cut-off run to end failed", func() bool {
		for _, bk := range own(ods[owner]) {
			if bk.ID == cut.ID {
				cut = bk
			}
		}
		return cut.Status == "failed"
	})
	if !strings.Contains(cut.LogOutput, "cluster lease lost") {
		t.Errorf("the cut-off run's log does not say why:\n%s", cut.LogOutput)
	}
	inSlot := func() (success, failed, going int) {
		for _, od := range ods {
			for _, bk := range own(od) {
				if bk.CreatedAt.Before(slot) || !bk.CreatedAt.Before(slot.Add(time.Minute)) {
					continue
				}
				switch bk.Status {
				case "success":
					success++
				case "failed":
					failed++
				default:
					going++
				}
			}
		}
		return
	}
	waitUntil(t, 2*time.Minute, "the slot run again to success", func() bool { s, _, _ := inSlot(); return s >= 1 })
	// Give a wrong second run the time to show: the slot's record says finished.
	waitUntil(t, time.Minute, "the slot recorded as finished", func() bool {
		r, err := cli.Get(t.Context(), "/jagad/jagad-test/slots/", clientv3.WithPrefix())
		return err == nil && len(r.Kvs) == 1 && string(r.Kvs[0].Value) >= fmt.Sprintf("%020d", slot.Unix())
	})
	if s, f, g := inSlot(); s != 1 || f != 1 || g != 0 {
		t.Errorf("slot %s: %d successful, %d failed, %d going runs; want the cut-off one failed and one success", slot.Format("15:04"), s, f, g)
	}
}
