package state

import (
	"encoding/json"
	"reflect"
	"testing"
)

// An old record without replicas has one copy, its primary; SetReplica
// turns it into a list with the primary first; RemoveReplica says whether
// a stored copy is left.
func TestBackupCopies(t *testing.T) {
	b := Backup{ID: "bck_a", Status: StatusSuccess, StorageProviderID: "prov_p", StoragePath: "backups/x",
		StoredSizeBytes: 7, EncryptedChecksum: "ab", VerifyStatus: VerifyPassed}
	got := b.Copies()
	if len(got) != 1 || !got[0].Primary || got[0].ProviderID != "prov_p" || got[0].Status != ReplicaSuccess ||
		got[0].SizeBytes != 7 || got[0].EncryptedChecksum != "ab" || got[0].VerifyStatus != VerifyPassed {
		t.Fatalf("copies of an old record = %+v", got)
	}
	b.SetReplica(Replica{ProviderID: "prov_c", StoragePath: "backups/x", Status: ReplicaFailed, Error: "boom"})
	if len(b.Replicas) != 2 || !b.Replicas[0].Primary || b.Replicas[1].ProviderID != "prov_c" {
		t.Fatalf("after SetReplica: %+v", b.Replicas)
	}
	b.SetReplica(Replica{ProviderID: "prov_c", StoragePath: "backups/x", Status: ReplicaSuccess, SizeBytes: 7})
	if r, ok := b.Replica("prov_c"); !ok || r.Status != ReplicaSuccess || len(b.Replicas) != 2 {
		t.Fatalf("SetReplica did not replace: %+v", b.Replicas)
	}
	if left := b.RemoveReplica("prov_p"); !left || len(b.Copies()) != 1 || b.Copies()[0].ProviderID != "prov_c" {
		t.Fatalf("after removing the primary: left %v, %+v", left, b.Copies())
	}
	b.SetReplica(Replica{ProviderID: "prov_d", Status: ReplicaFailed})
	if left := b.RemoveReplica("prov_c"); left {
		t.Fatal("a failed copy counted as a stored one")
	}
}

// The stored bytes per provider count every stored copy of a backup on its
// own provider, and not a failed copy.
func TestStoredBytesCountReplicas(t *testing.T) {
	s := openMem(t)
	b := Backup{ID: "bck_a", BackupType: "full", Status: StatusSuccess, StorageProviderID: "prov_1", StoredSizeBytes: 10, CreatedAt: t0,
		Replicas: []Replica{{ProviderID: "prov_1", Primary: true, Status: ReplicaSuccess, SizeBytes: 10},
			{ProviderID: "prov_2", Status: ReplicaSuccess, SizeBytes: 10}, {ProviderID: "prov_3", Status: ReplicaFailed}}}
	mustUpdate(t, s, func(tx *Tx) error { return Put(tx, b) })
	var st BackupStats
	mustView(t, s, func(tx *Tx) (err error) { st, err = tx.BackupStats(); return err })
	if want := map[string]int64{"prov_1": 10, "prov_2": 10}; !reflect.DeepEqual(st.StoredByProvider, want) {
		t.Fatalf("stored by provider = %v, want %v", st.StoredByProvider, want)
	}
}

// A copy target travels as a provider ID alone or as an object.
func TestCopyTargetJSON(t *testing.T) {
	var got []CopyTarget
	if err := json.Unmarshal([]byte(`["prov_a", {"storage_provider_id": "prov_b", "keep_monthly": 12}]`), &got); err != nil {
		t.Fatal(err)
	}
	want := []CopyTarget{{StorageProviderID: "prov_a"}, {StorageProviderID: "prov_b", KeepMonthly: 12}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
	if err := json.Unmarshal([]byte(`[42]`), &got); err == nil {
		t.Fatal("a number was accepted as a copy target")
	}
}
