package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// CopyBackup makes the fake engine a BackupCopier: it records the call and
// answers a pending replica, or 404 for an unknown provider.
func (f *fakeEngine) CopyBackup(_ context.Context, id, providerID string) (state.Replica, error) {
	f.record("copy " + id + " " + providerID)
	if providerID == "prov_nope" {
		return state.Replica{}, fault.NotFound("storage provider not found")
	}
	return state.Replica{ProviderID: providerID, Status: state.ReplicaPending}, nil
}

// A backup made before several destinations (no replicas recorded) shows
// its primary as its one copy; POST …/copies starts a copy (202) and needs
// a provider.
func TestBackupReplicasAndCopies(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	var b backupView
	mustJSON(t, e.call("GET", "/api/backups/"+f.backup, nil, http.StatusOK), &b)
	if len(b.Replicas) != 1 || !b.Replicas[0].Primary || b.Replicas[0].ProviderID != f.prov ||
		b.Replicas[0].Status != state.ReplicaSuccess || b.Replicas[0].SizeBytes != 1024 {
		t.Fatalf("replicas of an old record = %+v", b.Replicas)
	}
	var r copyResponse
	mustJSON(t, e.call("POST", "/api/backups/"+f.backup+"/copies", map[string]any{"storage_provider_id": "prov_x"}, http.StatusAccepted), &r)
	if r.Status != "copying" || r.BackupID != f.backup || r.Replica.ProviderID != "prov_x" || r.Replica.Status != state.ReplicaPending {
		t.Errorf("copy response %+v", r)
	}
	w := e.send(req{method: "POST", path: "/api/backups/" + f.backup + "/copies", body: map[string]any{}})
	if w.Code != http.StatusBadRequest || !strings.Contains(errMsg(t, w), "storage_provider_id") {
		t.Errorf("no provider: %d %s", w.Code, w.Body)
	}
	if w := e.send(req{method: "POST", path: "/api/backups/" + f.backup + "/copies", body: map[string]any{"storage_provider_id": "prov_nope"}}); w.Code != http.StatusNotFound {
		t.Errorf("unknown provider: %d %s", w.Code, w.Body)
	}
}
