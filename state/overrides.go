package state

import (
	"errors"
	"time"
)

const keyKeptOverrides = "schedule_overrides_kept"

// KeptOverride is the API override of a file-managed schedule that the file
// pruned. It is kept by schedule name, so that a schedule declared again
// under the same name gets it back, unless the file's value of the field
// differs from the one it had when the schedule was pruned.
type KeptOverride struct {
	Override Override  `json:"override"`
	Enabled  bool      `json:"enabled"` // the file's enabled when the schedule was pruned
	PrunedAt time.Time `json:"pruned_at"`
}

// KeptOverrides returns the overrides kept for pruned schedules, by name.
func (tx *Tx) KeptOverrides() (map[string]KeptOverride, error) {
	kept := map[string]KeptOverride{}
	if err := tx.check(false); err != nil {
		return nil, err
	}
	if err := tx.getValue(keyKeptOverrides, &kept); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return kept, nil
}

// PutKeptOverrides stores the overrides kept for pruned schedules.
func (tx *Tx) PutKeptOverrides(kept map[string]KeptOverride) error {
	return tx.putSingle(KindSchedule, keyKeptOverrides, kept)
}
