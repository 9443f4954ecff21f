package api

import (
	"errors"
	"fmt"

	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// Words used in messages for each kind.
const (
	wordConnection   = "connection"
	wordProvider     = "storage provider"
	wordNotification = "notification"
	wordSchedule     = "schedule"
	wordDatabase     = "database"
	wordBackup       = "backup"
	wordRestore      = "restore"
)

// getRec reads a record by ID; a missing one is a 404 "<what> not found".
func getRec[T state.Record](tx *state.Tx, id, what string) (T, error) {
	v, err := state.Get[T](tx, id)
	if errors.Is(err, state.ErrNotFound) {
		return v, fault.NotFound(what + " not found")
	}
	if err != nil {
		return v, fmt.Errorf("read %s %s: %w", what, id, err)
	}
	return v, nil
}

// refRec reads a record a request body refers to; a missing one is a 400
// naming the field.
func refRec[T state.Record](tx *state.Tx, field, id, what string) (T, error) {
	v, err := state.Get[T](tx, id)
	if errors.Is(err, state.ErrNotFound) {
		return v, fieldErr(field, "%s %q not found", what, id)
	}
	if err != nil {
		return v, fmt.Errorf("read %s %s: %w", what, id, err)
	}
	return v, nil
}

// managedErr is the 409 for writes to a file-managed record.
func managedErr(what, name string) error {
	return fault.Conflict(fmt.Sprintf("%s %q is managed by jagad.yaml; change it there", what, name))
}

// checkOwned refuses API writes to file-managed records.
func checkOwned(m state.Meta, what, name string) error {
	if m.ManagedBy == state.ManagedByFile {
		return managedErr(what, name)
	}
	return nil
}

// uniqueName refuses a name another record of the kind already has; a
// file-managed holder answers with the "managed by jagad.yaml" 409.
func uniqueName[T state.Record](tx *state.Tx, selfID, name, what string, key func(T) (string, state.ManagedBy)) error {
	all, err := state.List[T](tx)
	if err != nil {
		return fmt.Errorf("list %ss: %w", what, err)
	}
	for _, r := range all {
		n, owner := key(r)
		if n != name || r.RecordID() == selfID {
			continue
		}
		if owner == state.ManagedByFile {
			return managedErr(what, name)
		}
		return fault.Conflict(fmt.Sprintf("a %s named %q already exists", what, name))
	}
	return nil
}

// refs are the IDs a request body refers to; empty ones are not checked.
type refs struct {
	connection, database, schedule, provider string
	notifs                                   []string
}

// checkRefs answers 400 naming the field of the first unknown reference.
// connection and database are required when database or connection is checked.
func checkRefs(tx *state.Tx, r refs) error {
	if r.connection == "" {
		return missing("connection_id")
	}
	if _, err := refRec[state.Connection](tx, "connection_id", r.connection, wordConnection); err != nil {
		return err
	}
	if r.database == "" {
		return missing("database_id")
	}
	d, err := refRec[state.Database](tx, "database_id", r.database, wordDatabase)
	if err != nil {
		return err
	}
	if d.ConnectionID != r.connection {
		return fieldErr("database_id", "database %q does not belong to connection %q", r.database, r.connection)
	}
	if r.schedule != "" {
		if _, err := refRec[state.Schedule](tx, "schedule_id", r.schedule, wordSchedule); err != nil {
			return err
		}
	}
	if r.provider != "" {
		if _, err := refRec[state.Provider](tx, "storage_provider_id", r.provider, wordProvider); err != nil {
			return err
		}
	}
	for i, id := range r.notifs {
		if _, err := refRec[state.Notification](tx, fmt.Sprintf("notif_target_ids[%d]", i), id, wordNotification); err != nil {
			return err
		}
	}
	return nil
}
