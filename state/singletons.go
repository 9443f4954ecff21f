package state

import (
	"errors"
	"maps"
	"slices"
)

// Keys of the single records.
const (
	keySettings     = "settings"
	keyAdmin        = "admin"
	keyConfigStatus = "config_status"
	keyLastGood     = "config_last_good"
)

// LastGoodConfig is the text of the last jagad.yaml the reconciler accepted.
// The records it declared are in the store anyway; the daemon also needs
// the parts that live only in the file (encryption keys, the metrics
// token) when it restarts with a file that has since become invalid.
type LastGoodConfig struct {
	Content Secret `json:"content"` // sealed: a file may hold literal secrets
	Digest  string `json:"digest"`
}

// LastGoodConfig returns the stored last good file; ErrNotFound when none.
func (tx *Tx) LastGoodConfig() (LastGoodConfig, error) {
	var c LastGoodConfig
	if err := tx.check(false); err != nil {
		return c, err
	}
	err := tx.getValue(keyLastGood, &c)
	return c, err
}

// PutLastGoodConfig stores the last good file.
func (tx *Tx) PutLastGoodConfig(c LastGoodConfig) error {
	return tx.putSingle(KindConfigStatus, keyLastGood, c)
}

// Settings returns the settings with defaults filled in: stored values
// override DefaultSettings, which is never modified.
func (tx *Tx) Settings() (Settings, error) {
	if err := tx.check(false); err != nil {
		return Settings{}, err
	}
	var stored Settings
	if err := tx.getValue(keySettings, &stored); err != nil && !errors.Is(err, ErrNotFound) {
		return Settings{}, err
	}
	values := maps.Clone(DefaultSettings)
	if values == nil {
		values = map[string]string{}
	}
	maps.Copy(values, stored.Values)
	return Settings{Values: values, FileKeys: slices.Clone(stored.FileKeys)}, nil
}

// PutSettings stores the settings record.
func (tx *Tx) PutSettings(s Settings) error {
	return tx.putSingle(KindSettings, keySettings, s)
}

// Admin returns the admin user; ErrNotFound before the first start seeds it.
func (tx *Tx) Admin() (AdminUser, error) {
	var u AdminUser
	if err := tx.check(false); err != nil {
		return u, err
	}
	if err := tx.getValue(keyAdmin, &u); err != nil {
		return AdminUser{}, err
	}
	return u, nil
}

// PutAdmin stores the admin user.
func (tx *Tx) PutAdmin(u AdminUser) error {
	return tx.putSingle(KindAdmin, keyAdmin, u)
}

// ConfigStatus returns the reconciler's status (zero value when none yet).
func (tx *Tx) ConfigStatus() (ConfigStatus, error) {
	var cs ConfigStatus
	if err := tx.check(false); err != nil {
		return cs, err
	}
	if err := tx.getValue(keyConfigStatus, &cs); err != nil && !errors.Is(err, ErrNotFound) {
		return ConfigStatus{}, err
	}
	return cs, nil
}

// PutConfigStatus stores the reconciler's status.
func (tx *Tx) PutConfigStatus(s ConfigStatus) error {
	return tx.putSingle(KindConfigStatus, keyConfigStatus, s)
}

func (tx *Tx) putSingle(k Kind, key string, v any) error {
	if err := tx.check(true); err != nil {
		return err
	}
	if err := tx.putValue(key, v, nil); err != nil {
		return err
	}
	tx.changed(k, "", ChangeUpdated)
	return nil
}
