package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
)

// Offline restore (disaster recovery): `jagad restore` restores a backup
// from storage alone, with the same two-pass pipeline as the daemon's
// restores (restore.go). Not to be confused with crash recovery at start
// (crashrecover.go).

// OfflineRestoreOptions configure an offline restore: no daemon, no data dir, only
// the storage, a key and a target server.
type OfflineRestoreOptions struct {
	Store storage.Store
	// Key is the object's key or its manifest's key.
	Key string
	// EncryptionKey (a raw key or a passphrase) is used for KeyID, or for
	// whatever key id the manifest names when KeyID is "".
	EncryptionKey string
	KeyID         string
	// Identities are age recovery identities.
	Identities []age.Identity
	// Target is the server to restore into. Its DBType may name either
	// member of the MySQL family for a mysql or mariadb backup; an empty
	// Database restores into the backup's database name.
	Target       dbclient.Target
	Tools        dump.Tools
	DropExisting bool
	Restore      dump.RestoreOptions
	// SinglePass skips the verification pass: faster, but a corrupt object
	// can leave the target partly restored.
	SinglePass bool
	Log        io.Writer // progress lines (nil: discarded)
	// Fallbacks are the other destinations holding copies of the backup
	// (copies_to), tried in order when Store's copy cannot be used.
	Fallbacks []storage.Store

	// Physical backups (RestoreOfflineDir, restore_offline_dir.go).
	// TargetDir is the new data directory: absolute, missing or empty.
	TargetDir string
	// Check starts a throwaway server on TargetDir and counts the rows of
	// the backup's database.
	Check bool
	// CheckUser is the role a PostgreSQL check connects as ("": postgres).
	CheckUser string
	// ToTime, ToLSN (PostgreSQL) or Latest (PostgreSQL) restore to a point
	// in time, from the archive in ArchiveStore (nil: Store).
	ToTime       *time.Time
	ToLSN        string
	Latest       bool
	ArchiveStore storage.Store
}

// RestoreOffline restores one backup from storage alone: it reads the manifest,
// verifies the whole object (unless SinglePass), then streams it into the
// target, checking every checksum again on the way. With Fallbacks (the
// other destinations of a backup with copies), a destination whose
// manifest or object cannot be read, or whose object fails verification,
// is skipped for the next one; the log says which one was restored from.
//
// With o.TargetDir it is RestoreOfflineDir (a physical backup).
func RestoreOffline(ctx context.Context, o OfflineRestoreOptions) (objfmt.Manifest, error) {
	if o.TargetDir != "" {
		res, err := RestoreOfflineDir(ctx, o)
		return res.Backup, err
	}
	mkey := o.Key
	if !strings.HasSuffix(mkey, objfmt.ManifestSuffix) {
		mkey += objfmt.ManifestSuffix
	}
	w := o.Log
	if w == nil {
		w = io.Discard
	}
	log := &lineLog{w: w, secret: o.Target.Password}
	stores := append([]storage.Store{o.Store}, o.Fallbacks...)
	var (
		m    objfmt.Manifest
		last error
	)
	for i, st := range stores {
		if i > 0 {
			log.Printf("RECOVER: trying the copy on %s", st)
		}
		var r streamRestore
		m, r, last = offlinePlan(o, st, mkey, log)
		if last != nil {
			if i+1 < len(stores) {
				log.Printf("RECOVER: %s: %v", st, last)
			}
			continue
		}
		if r.verifyFirst {
			if last = verifyPass(ctx, r); last != nil {
				log.Printf("RECOVER: the copy on %s failed its checks", st)
				continue
			}
		}
		if i > 0 || len(stores) > 1 {
			log.Printf("RECOVER: restoring from the copy on %s", st)
		}
		if err := restorePass(ctx, r); err != nil {
			log.Printf("RESTORE FAILED: %v", err)
			return m, err
		}
		log.Printf("RESTORE COMPLETE: success")
		return m, nil
	}
	if last != nil && m.BackupID != "" {
		log.Printf("RESTORE FAILED: %v", last)
	}
	return m, last
}

// offlinePlan reads the manifest from st and resolves the restore.
func offlinePlan(o OfflineRestoreOptions, st storage.Store, mkey string, log *lineLog) (objfmt.Manifest, streamRestore, error) {
	m, err := objfmt.ReadManifest(context.Background(), st, mkey)
	if err != nil {
		return m, streamRestore{}, err
	}
	if m.ObjectKey+objfmt.ManifestSuffix != mkey {
		return m, streamRestore{}, fmt.Errorf("manifest %s describes object %s", mkey, m.ObjectKey)
	}
	if isPhysical(m.BackupType) {
		what := "pg_basebackup"
		if m.DBType != dbclient.PostgreSQL {
			what = "mariadb-backup, chain " + m.ChainID
		}
		return m, streamRestore{}, fmt.Errorf("backup %s is a %s backup (%s): it restores into a data directory, not into a server; "+
			"use --target-dir DIR instead of --to (or POST /api/backups/%s/restore with target_dir)", m.BackupID, m.BackupType, what, m.BackupID)
	}
	t := o.Target
	if dbFamily(t.DBType) != dbFamily(m.DBType) {
		return m, streamRestore{}, fmt.Errorf("cannot restore a %s backup into a %s server", m.DBType, t.DBType)
	}
	t.DBType = m.DBType
	if t.Database == "" {
		t.Database = m.DatabaseName
	}
	keys, err := offlineKeys(o, m)
	if err != nil {
		return m, streamRestore{}, err
	}
	log.Printf("RECOVER: backup %s (%s %s/%s, completed %s) from %s into %s database %s",
		m.BackupID, m.DBType, m.ConnectionName, m.DatabaseName, m.CompletedAt.Format(time.RFC3339), st, t.Addr(), t.Database)
	return m, streamRestore{st: st, spec: objfmt.SpecOfManifest(m), keys: keys, target: t,
		tools: o.Tools, tool: o.Restore, verifyFirst: !o.SinglePass, dropExisting: o.DropExisting, log: log}, nil
}

func offlineKeys(o OfflineRestoreOptions, m objfmt.Manifest) (objfmt.Keys, error) {
	keys := objfmt.Keys{Identities: o.Identities}
	if !m.Encrypted || o.EncryptionKey == "" {
		return keys, nil
	}
	id := o.KeyID
	if id == "" {
		id = m.EncryptionKeyID
	}
	kr, err := crypt.NewKeyring("", map[string]string{id: o.EncryptionKey}, "")
	if err != nil {
		return keys, fmt.Errorf("encryption key: %w", err)
	}
	keys.Ring = kr
	return keys, nil
}

// dbFamily groups the database types whose dumps restore into each other's
// servers by tool: PostgreSQL, and MySQL/MariaDB.
func dbFamily(dbType string) string {
	if dbType == dbclient.MariaDB {
		return dbclient.MySQL
	}
	return dbType
}

// lineLog writes log lines straight to w with the password scrubbed.
type lineLog struct {
	mu     sync.Mutex
	w      io.Writer
	secret string
}

func (l *lineLog) Printf(format string, args ...any) {
	_, _ = l.Write([]byte(fmt.Sprintf(format, args...)))
}

func (l *lineLog) Write(p []byte) (int, error) {
	s := dbclient.Scrub(string(p), l.secret)
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := io.WriteString(l.w, s)
	return len(p), err
}
