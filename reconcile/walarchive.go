package reconcile

import (
	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// walArchiveSpec is the record form of a connection's wal_archive.
func walArchiveSpec(w *config.WalArchive) *state.WalArchive {
	if w == nil {
		return nil
	}
	return &state.WalArchive{Enabled: w.Enabled, Storage: w.Storage, SpoolMaxBytes: w.SpoolMaxBytes}
}
