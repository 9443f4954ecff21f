package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// Physical chains and DELETE /api/backups/{id}: deleting by hand a backup
// that others need answers 409 naming them, unless ?force=true:
//   - a MySQL/MariaDB physical full or incremental whose incrementals
//     (children, transitively; failed ones hold nothing) would no longer
//     restore;
//   - a PostgreSQL base backup that is the oldest base of a connection
//     archiving its WAL: the points in time from its end to the next base
//     (or now) restore from it alone (a later point can also start from an
//     older base, replaying more WAL, so only the oldest is needed).
// Retention applies its own rules (engine/retention) and is not affected.

// forceParam reads ?force= (absent: false).
func forceParam(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("force")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fault.Invalid(`invalid value for query parameter "force": expected true or false`)
	}
	return b, nil
}

// chainDependants says what needs b ("" = nothing).
func chainDependants(tx *state.Tx, b state.Backup) (string, error) {
	if b.Status != state.StatusSuccess || (b.BackupType != "physical" && b.BackupType != "incremental") {
		return "", nil
	}
	all, err := tx.ListBackups(state.BackupQuery{ConnectionID: b.ConnectionID})
	if err != nil {
		return "", fmt.Errorf("list backups of the connection: %w", err)
	}
	if b.DBType == dbclient.PostgreSQL {
		return pointsNeeding(tx, b, all)
	}
	children := map[string][]string{}
	for _, o := range all {
		if o.ParentID != "" && o.Status != state.StatusFailed {
			children[o.ParentID] = append(children[o.ParentID], o.ID)
		}
	}
	var deps []string
	queue := slices.Clone(children[b.ID])
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if slices.Contains(deps, id) {
			continue
		}
		deps = append(deps, id)
		queue = append(queue, children[id]...)
	}
	if len(deps) == 0 {
		return "", nil
	}
	return fmt.Sprintf("backup %s is a link of a physical chain: %d incremental backup(s) need it to be restored (%s); "+
		"delete them first, or add ?force=true to delete it anyway (they will no longer restore)", b.ID, len(deps), strings.Join(deps, ", ")), nil
}

// pointsNeeding says which points in time need the PostgreSQL base b.
func pointsNeeding(tx *state.Tx, b state.Backup, all []state.Backup) (string, error) {
	if b.BackupType != "physical" || b.Physical == nil || b.CompletedAt == nil {
		return "", nil
	}
	c, err := state.Get[state.Connection](tx, b.ConnectionID)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return "", nil // the connection is gone: its archive is no longer followed
	case err != nil:
		return "", err
	case c.WalArchive == nil || !c.WalArchive.Enabled:
		return "", nil
	}
	var next *time.Time
	for _, o := range all {
		if o.ID == b.ID || o.BackupType != "physical" || o.Physical == nil || o.Status != state.StatusSuccess || o.CompletedAt == nil {
			continue
		}
		if o.CompletedAt.Before(*b.CompletedAt) {
			return "", nil // an older base covers every point b covers
		}
		if next == nil || o.CompletedAt.Before(*next) {
			next = o.CompletedAt
		}
	}
	until := "now (no later base backup)"
	if next != nil {
		until = next.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("backup %s is the oldest base backup of connection %s, whose WAL is archived: the points in time from %s to %s "+
		"restore from it alone; add ?force=true to delete it anyway (they can no longer be restored)",
		b.ID, c.Name, b.CompletedAt.UTC().Format(time.RFC3339), until), nil
}

// walArchiveErrors checks a connection's wal_archive as jagad.yaml's
// check does (config/physical.go), the storage's existence aside
// (walStorageExists).
func walArchiveErrors(c state.ConnectionSpec) []config.FieldError {
	w := c.WalArchive
	if w == nil || !w.Enabled {
		return nil
	}
	var errs []config.FieldError
	if c.DBType != dbclient.PostgreSQL {
		errs = append(errs, config.FieldError{Field: "wal_archive",
			Message: "wal_archive is supported for postgresql connections only, not " + c.DBType + " (mysql and mariadb take binlog_archive)"})
	}
	if w.Storage == "" {
		errs = append(errs, config.FieldError{Field: "wal_archive.storage", Message: "required when wal_archive is enabled: the name of a storage provider"})
	}
	if w.SpoolMaxBytes < 0 {
		errs = append(errs, config.FieldError{Field: "wal_archive.spool_max_bytes", Message: "must not be negative"})
	}
	return errs
}

// walStorageExists refuses a wal_archive naming no storage provider.
func walStorageExists(tx *state.Tx, c state.ConnectionSpec) error {
	w := c.WalArchive
	if w == nil || !w.Enabled {
		return nil
	}
	ps, err := state.List[state.Provider](tx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Name == w.Storage {
			return nil
		}
	}
	return fieldErr("wal_archive.storage", "no storage provider is named %q", w.Storage)
}
