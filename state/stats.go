package state

import (
	"errors"
	"maps"
)

// keyBackupStats holds the backup aggregate, kept up to date by Put/Delete.
const keyBackupStats = "stats/backups"

// backupAgg is the stored form of the backup aggregate.
type backupAgg struct {
	Total     int64            `json:"total"`
	SizeBytes int64            `json:"size_bytes"`
	ByType    map[string]int64 `json:"by_type"`
	ByStatus  map[string]int64 `json:"by_status"`
	// StoredByProvider sums the bytes of the stored copies (replicas with
	// status success) of successful backups per storage provider ID.
	StoredByProvider map[string]int64 `json:"stored_by_provider"`
}

// loadStats returns the aggregate as seen by this transaction, cached in tx.
func (tx *Tx) loadStats() (*backupAgg, error) {
	if tx.stats != nil {
		return tx.stats, nil
	}
	agg := &backupAgg{}
	if err := tx.getValue(keyBackupStats, agg); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if agg.ByType == nil {
		agg.ByType = map[string]int64{}
	}
	if agg.ByStatus == nil {
		agg.ByStatus = map[string]int64{}
	}
	if agg.StoredByProvider == nil {
		agg.StoredByProvider = map[string]int64{}
	}
	tx.stats = agg
	return agg, nil
}

// adjustStats adds (sign +1) or removes (sign -1) b's contribution.
func (tx *Tx) adjustStats(b Backup, sign int64) error {
	agg, err := tx.loadStats()
	if err != nil {
		return err
	}
	agg.Total += sign
	agg.SizeBytes += sign * b.SizeBytes
	bump(agg.ByType, b.BackupType, sign)
	bump(agg.ByStatus, b.Status, sign)
	if b.Status == StatusSuccess {
		for _, r := range b.Copies() { // every stored copy, on its own provider
			if r.Status == ReplicaSuccess {
				bump(agg.StoredByProvider, r.ProviderID, sign*r.SizeBytes)
			}
		}
	}
	tx.statsDty = true
	return nil
}

func bump(m map[string]int64, k string, d int64) {
	if k == "" {
		return
	}
	m[k] += d
	if m[k] == 0 {
		delete(m, k)
	}
}

// writeStats stores the cached aggregate (called before commit).
func (tx *Tx) writeStats() error {
	return tx.putValue(keyBackupStats, tx.stats, nil)
}

// BackupStats returns the aggregate kept up to date by Put/Delete of backups.
func (tx *Tx) BackupStats() (BackupStats, error) {
	if err := tx.check(false); err != nil {
		return BackupStats{}, err
	}
	agg, err := tx.loadStats()
	if err != nil {
		return BackupStats{}, err
	}
	st := BackupStats{
		TotalBackups:     agg.Total,
		TotalSizeBytes:   agg.SizeBytes,
		ByType:           maps.Clone(agg.ByType),
		ByStatus:         maps.Clone(agg.ByStatus),
		StoredByProvider: maps.Clone(agg.StoredByProvider),
	}
	if agg.Total > 0 {
		st.SuccessRate = float64(agg.ByStatus[StatusSuccess]) / float64(agg.Total) * 100
	}
	return st, nil
}
