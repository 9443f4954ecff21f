package clustere2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/cluster/k8slease/k8sleasetest"
)

// TestLeaseCutOffSlotRunsAgain: in the Lease mode a run cut off with its
// daemon's leadership, or stopped by a crash, is run again by the next
// leader's catch-up even when that leader is the same daemon — the common
// case after a short API-server outage (no standby could take the Lease
// either) or a StatefulSet pod restarting under its own name. The
// schedule's pg_dump sleeps 20 s on its first run only, so that run is
// still going when it is cut off; the slot must then end with a successful
// backup made by the same daemon.
func TestLeaseCutOffSlotRunsAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon for over a minute")
	}
	t.Parallel()
	for _, tc := range []struct {
		name string
		cut  func(t *testing.T, srv *k8sleasetest.Server, d *daemon, env map[string]string) *daemon
	}{
		{"LeaseTakenAndBack", func(t *testing.T, srv *k8sleasetest.Server, d *daemon, _ map[string]string) *daemon {
			// Another holder renews the Lease once, then is never heard of
			// again: the daemon's gate closes (the run is cut off) and it
			// takes the Lease back lease_duration later.
			if !srv.Change(leaseNamespace, leaseName, func(obj map[string]any) {
				spec := obj["spec"].(map[string]any)
				spec["holderIdentity"] = "intruder"
				spec["renewTime"] = time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00")
			}) {
				t.Fatal("no Lease")
			}
			return d
		}},
		{"RestartSameName", func(t *testing.T, _ *k8sleasetest.Server, d *daemon, env map[string]string) *daemon {
			d.kill() // SIGKILL mid-run; the same name and data dir start again
			return startDaemon(t, "lease-0", env)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pgDump := requirePostgres(t)
			srv := k8sleasetest.New(t)
			dir := t.TempDir()
			slow := filepath.Join(dir, "pg_dump-slow-once")
			marker := filepath.Join(dir, "slept")
			writeFile(t, slow, "#!/bin/sh\ncase \"$*\" in *--version*) ;; *) [ -e "+marker+" ] || { : > "+marker+"; /bin/sleep 20; } ;; esac\nexec "+pgDump+" \"$@\"\n")
			if err := os.Chmod(slow, 0o755); err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(dir, "jagad.yaml")
			writeFile(t, cfg, jagadYAML(dir, slow, []job{{name: "cut-off-once", database: "postgres"}}))
			env := map[string]string{
				"JAGAD_CONFIG": cfg, "JAGAD_DATA_DIR": filepath.Join(dir, "lease-0"),
				"JAGAD_CLUSTER_K8S_KUBECONFIG":     srv.Kubeconfig(t, leaseNamespace),
				"JAGAD_CLUSTER_K8S_LEASE_DURATION": leaseDuration.String(),
				"JAGAD_CLUSTER_K8S_RENEW_DEADLINE": "2s", "JAGAD_CLUSTER_K8S_RETRY_PERIOD": "500ms",
			}
			d := startDaemon(t, "lease-0", env)
			waitUntil(t, time.Minute, "the daemon to lead", func() bool { return d.metric("jagad_cluster_leader") == "1" })
			id := scheduleIDs(t, d, 1)["cut-off-once"]
			slot := nextSlot(time.Now())
			waitUntil(t, 2*time.Minute, "the slot's run", func() bool { return running(d.backups(), id, slot) })
			d = tc.cut(t, srv, d, env)
			waitUntil(t, time.Minute, "the daemon to lead again", func() bool {
				h, _ := srv.Holder(leaseNamespace, leaseName)
				return h == "lease-0" && d.metric("jagad_cluster_leader") == "1"
			})
			var ok, cut []backup
			waitUntil(t, 2*time.Minute, "a successful backup in the cut-off slot's minute", func() bool {
				ok, cut = nil, nil
				for _, b := range d.backups() {
					// The slot's runs only: the next minute's own run would
					// hide a missing catch-up.
					if b.ScheduleID != id || !b.CreatedAt.UTC().Truncate(time.Minute).Equal(slot) {
						continue
					}
					switch {
					case b.Status == "success":
						ok = append(ok, b)
					case b.Status == "failed" && (strings.Contains(b.LogOutput, "cluster lease lost") || strings.Contains(b.LogOutput, "RECOVERY:")):
						cut = append(cut, b)
					}
				}
				return len(ok) > 0
			})
			if len(cut) != 1 {
				t.Fatalf("cut-off runs of the slot: %d, want 1", len(cut))
			}
			if len(ok) != 1 || !ok[0].CreatedAt.After(cut[0].CreatedAt) {
				t.Errorf("successful runs of the slot: %d, want 1, after the cut-off one", len(ok))
			}
			if !strings.Contains(d.log.String(), "catch-up of a slot whose run was cut off") {
				t.Errorf("the daemon did not log the slot's catch-up:\n%s", d.log.String())
			}
		})
	}
}
