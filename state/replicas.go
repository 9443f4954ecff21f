package state

import (
	"encoding/json"
	"fmt"
	"time"
)

// Several destinations per backup (3-2-1): a schedule names its primary
// storage and CopiesTo; a backup lists every copy of its object in
// Replicas, the primary first. One dump is uploaded to all of them in one
// pass (engine/objfmt: fan-out). A backup's Status is about the primary
// alone: success means the primary is stored and checked; a failed copy is
// recorded on its replica, never hidden behind the backup's status.

// CopyTarget is one extra destination of a schedule's backups. A target
// that sets any retention key has exactly that policy on its destination;
// one that sets none follows the schedule's policy.
type CopyTarget struct {
	StorageProviderID string   `json:"storage_provider_id"`
	RetentionFull     int      `json:"retention_full,omitempty"`
	KeepDaily         int      `json:"keep_daily,omitempty"`
	KeepWeekly        int      `json:"keep_weekly,omitempty"`
	KeepMonthly       int      `json:"keep_monthly,omitempty"`
	KeepYearly        int      `json:"keep_yearly,omitempty"`
	KeepWithin        Duration `json:"keep_within,omitempty"`
}

// UnmarshalJSON accepts a provider ID alone ("prov_x") or an object.
func (c *CopyTarget) UnmarshalJSON(b []byte) error {
	var id string
	if err := json.Unmarshal(b, &id); err == nil {
		*c = CopyTarget{StorageProviderID: id}
		return nil
	}
	type plain CopyTarget
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("a copy target is a provider ID or an object with storage_provider_id: %w", err)
	}
	*c = CopyTarget(p)
	return nil
}

// OwnRetention reports whether the target sets a policy of its own.
func (c CopyTarget) OwnRetention() bool {
	return c.RetentionFull != 0 || c.KeepDaily != 0 || c.KeepWeekly != 0 || c.KeepMonthly != 0 ||
		c.KeepYearly != 0 || c.KeepWithin != 0
}

// CopyRetention is the policy of copy target c of schedule s: its own, or
// the schedule's when it sets none.
func (s ScheduleSpec) CopyRetention(c CopyTarget) RetentionPolicy {
	if !c.OwnRetention() {
		return s.Retention()
	}
	return RetentionPolicy{Full: c.RetentionFull, Daily: c.KeepDaily, Weekly: c.KeepWeekly,
		Monthly: c.KeepMonthly, Yearly: c.KeepYearly, Within: c.KeepWithin}
}

// Replica statuses.
const (
	ReplicaPending = "pending" // being uploaded (or waiting for its backup to run)
	ReplicaSuccess = "success" // stored, size and encrypted checksum checked
	ReplicaFailed  = "failed"  // not stored; Error says why; repair retries it
)

// Replica is one copy of a backup's object on one storage provider.
type Replica struct {
	ProviderID   string `json:"provider_id"`
	ProviderName string `json:"provider_name,omitempty"` // as when the copy was made
	StoragePath  string `json:"storage_path"`
	// Primary marks the copy the backup was made for (storage_provider_id):
	// the backup's status is about it.
	Primary           bool       `json:"primary,omitempty"`
	Status            string     `json:"status"`
	SizeBytes         int64      `json:"size_bytes"`
	EncryptedChecksum string     `json:"encrypted_checksum,omitempty"` // sha256 of the stored bytes
	UploadedAt        *time.Time `json:"uploaded_at,omitempty"`
	VerifiedAt        *time.Time `json:"verified_at,omitempty"`
	VerifyStatus      string     `json:"verify_status,omitempty"` // passed | failed, from the last verification
	Error             string     `json:"error,omitempty"`
	Attempts          int        `json:"attempts,omitempty"` // uploads tried (the first and repairs)
	// Retention is the policy of this destination when the copy was made,
	// so it still applies after the schedule is gone.
	Retention *RetentionPolicy `json:"retention,omitempty"`
}

// Copies returns every copy of b's object, the primary first. A record
// made before replicas were recorded has exactly one copy: the primary,
// described by the record's own fields (its status is the backup's).
func (b Backup) Copies() []Replica {
	if len(b.Replicas) > 0 {
		return b.Replicas
	}
	if b.StorageProviderID == "" {
		return nil
	}
	status := ReplicaPending
	switch b.Status {
	case StatusSuccess:
		status = ReplicaSuccess
	case StatusFailed:
		status = ReplicaFailed
	}
	r := Replica{ProviderID: b.StorageProviderID, StoragePath: b.StoragePath, Primary: true, Status: status,
		SizeBytes: b.StoredSizeBytes, EncryptedChecksum: b.EncryptedChecksum, UploadedAt: b.CompletedAt,
		VerifiedAt: b.VerifiedAt, Retention: b.Retention}
	switch b.VerifyStatus {
	case VerifyPassed, VerifyFailed:
		r.VerifyStatus = b.VerifyStatus
	}
	return []Replica{r}
}

// Replica returns b's copy on provider providerID.
func (b Backup) Replica(providerID string) (Replica, bool) {
	for _, r := range b.Copies() {
		if r.ProviderID == providerID {
			return r, true
		}
	}
	return Replica{}, false
}

// SetReplica replaces (or appends) b's copy on r.ProviderID, first turning
// a record without replicas into one that lists its primary.
func (b *Backup) SetReplica(r Replica) {
	b.Replicas = append([]Replica(nil), b.Copies()...)
	for i := range b.Replicas {
		if b.Replicas[i].ProviderID == r.ProviderID {
			b.Replicas[i] = r
			return
		}
	}
	b.Replicas = append(b.Replicas, r)
}

// RemoveReplica drops b's copy on providerID; it reports whether any copy
// with an object (status success) is left.
func (b *Backup) RemoveReplica(providerID string) bool {
	all := b.Copies()
	kept := make([]Replica, 0, len(all))
	left := false
	for _, r := range all {
		if r.ProviderID == providerID {
			continue
		}
		kept = append(kept, r)
		left = left || r.Status == ReplicaSuccess
	}
	b.Replicas = kept
	return left
}
