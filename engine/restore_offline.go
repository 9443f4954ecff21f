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
}

// RestoreOffline restores one backup from storage alone: it reads the manifest,
// verifies the whole object (unless SinglePass), then streams it into the
// target, checking every checksum again on the way.
func RestoreOffline(ctx context.Context, o OfflineRestoreOptions) (objfmt.Manifest, error) {
	mkey := o.Key
	if !strings.HasSuffix(mkey, objfmt.ManifestSuffix) {
		mkey += objfmt.ManifestSuffix
	}
	m, err := objfmt.ReadManifest(ctx, o.Store, mkey)
	if err != nil {
		return m, err
	}
	if m.ObjectKey+objfmt.ManifestSuffix != mkey {
		return m, fmt.Errorf("manifest %s describes object %s", mkey, m.ObjectKey)
	}
	if isPhysical(m.BackupType) {
		return m, fmt.Errorf("backup %s is a %s backup (mariadb-backup, chain %s): it restores into a data directory, not into a server; "+
			"use POST /api/backups/%s/restore with target_dir, or the steps in README's \"Physical backups and incremental chains\"",
			m.BackupID, m.BackupType, m.ChainID, m.BackupID)
	}
	t := o.Target
	if dbFamily(t.DBType) != dbFamily(m.DBType) {
		return m, fmt.Errorf("cannot restore a %s backup into a %s server", m.DBType, t.DBType)
	}
	t.DBType = m.DBType
	if t.Database == "" {
		t.Database = m.DatabaseName
	}
	keys, err := offlineKeys(o, m)
	if err != nil {
		return m, err
	}
	w := o.Log
	if w == nil {
		w = io.Discard
	}
	log := &lineLog{w: w, secret: t.Password}
	log.Printf("RECOVER: backup %s (%s %s/%s, completed %s) from %s into %s database %s",
		m.BackupID, m.DBType, m.ConnectionName, m.DatabaseName, m.CompletedAt.Format(time.RFC3339), o.Store, t.Addr(), t.Database)
	err = restoreStream(ctx, streamRestore{st: o.Store, spec: objfmt.SpecOfManifest(m), keys: keys, target: t,
		tools: o.Tools, tool: o.Restore, verifyFirst: !o.SinglePass, dropExisting: o.DropExisting, log: log})
	if err != nil {
		log.Printf("RESTORE FAILED: %v", err)
		return m, err
	}
	log.Printf("RESTORE COMPLETE: success")
	return m, nil
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
