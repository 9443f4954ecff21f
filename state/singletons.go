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
)

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
	tx.touch(k)
	return nil
}
