package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/engine/mariaphys"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/pgphys"
	"github.com/jagad/jagad/engine/pgwal"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// Offline restore of a physical backup (`jagad restore --target-dir`):
// disaster recovery of a PostgreSQL base backup (with its archived WAL for
// a point in time) or a MariaDB/MySQL chain (with its archived binary logs
// for a point in time) into a new data directory, from storage alone. The
// manifests stand in for the store: those beside the backup (under
// backups/<connection>/) give the bases and the chain links, the archive
// (wal/<connection>/, binlogs/<connection>/) the WAL and binary logs. The
// daemon's restore functions do the work (restorePGDir, restoreLinks,
// replayPITR), so the checks are the same: every object is read through
// its checks before anything is written.

// OfflineDirResult is what RestoreOfflineDir restored.
type OfflineDirResult struct {
	// Backup is the manifest of the backup restored: the one named, or for
	// a point in time the base chosen (PostgreSQL) or the end of the chain
	// chosen (MariaDB).
	Backup objfmt.Manifest
	// Chain lists the backup IDs restored, oldest first (one for PostgreSQL).
	Chain []string
	// Counts are the row counts per table the check found (Check only).
	Counts map[string]int64
}

// RestoreOfflineDir restores a physical backup from storage alone into the
// new data directory o.TargetDir (absolute, missing or empty). With
// o.ToTime, o.ToLSN (PostgreSQL) or o.Latest (PostgreSQL) it restores to
// that point: the newest base before it plus the archived WAL or binary
// logs found in o.ArchiveStore (default o.Store). With o.Check a throwaway
// server is started on the result and the rows of the backup's database
// are counted.
func RestoreOfflineDir(ctx context.Context, o OfflineRestoreOptions) (OfflineDirResult, error) {
	w := o.Log
	if w == nil {
		w = io.Discard
	}
	log := &lineLog{w: w}
	res, err := restoreOfflineDir(ctx, o, log)
	if err != nil {
		if res.Backup.BackupID != "" {
			log.Printf("RESTORE FAILED: %v", err)
		}
		return res, err
	}
	log.Printf("RESTORE COMPLETE: success")
	return res, nil
}

func restoreOfflineDir(ctx context.Context, o OfflineRestoreOptions, log *lineLog) (OfflineDirResult, error) {
	var res OfflineDirResult
	if err := checkNewDataDir(o.TargetDir); err != nil {
		return res, err
	}
	if n := countTrue(o.ToTime != nil, o.ToLSN != "", o.Latest); n > 1 {
		return res, errors.New("give at most one of --to-time, --to-lsn and --latest")
	}
	mkey := o.Key
	if !strings.HasSuffix(mkey, objfmt.ManifestSuffix) {
		mkey += objfmt.ManifestSuffix
	}
	m, err := objfmt.ReadManifest(ctx, o.Store, mkey)
	if err != nil {
		return res, err
	}
	if m.ObjectKey+objfmt.ManifestSuffix != mkey {
		return res, fmt.Errorf("manifest %s describes object %s", mkey, m.ObjectKey)
	}
	if !isPhysical(m.BackupType) {
		return res, fmt.Errorf("backup %s is a logical dump (%s %s/%s): it restores into a server with --to URL, not into a data directory",
			m.BackupID, m.DBType, m.ConnectionName, m.DatabaseName)
	}
	res.Backup = m
	if m.DBType == dbclient.PostgreSQL {
		return offlinePGDir(ctx, o, m, log)
	}
	return offlineChainDir(ctx, o, m, log)
}

// checkNewDataDir refuses a target that is not absolute, or exists and is
// not an empty directory: before anything is read.
func checkNewDataDir(dir string) error {
	if dir == "" || !filepath.IsAbs(dir) || filepath.Clean(dir) == "/" {
		return fmt.Errorf("--target-dir must be an absolute path other than /, got %q", dir)
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("target dir: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("target dir %s is not empty: a physical restore writes a new data directory and never overwrites one", dir)
	}
	return nil
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// connBackups reads the manifests of the physical backups of m's
// connection stored beside m (backups/<connection>/…), newest first; m
// itself is always among them. Unreadable manifests are logged and left
// out.
func connBackups(ctx context.Context, st storage.Store, m objfmt.Manifest, log restoreLog) (map[string]objfmt.Manifest, []state.Backup, error) {
	byID := map[string]objfmt.Manifest{m.BackupID: m}
	prefix := path.Dir(path.Dir(m.ObjectKey)) + "/"
	infos, err := st.List(ctx, prefix)
	if err != nil {
		return nil, nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	for _, in := range infos {
		if !strings.HasSuffix(in.Key, objfmt.ManifestSuffix) || in.Key == m.ObjectKey+objfmt.ManifestSuffix {
			continue
		}
		c, err := objfmt.ReadManifest(ctx, st, in.Key)
		if err != nil {
			log.Printf("RECOVER: skipping %s: %v", in.Key, err)
			continue
		}
		if c.ConnectionID == m.ConnectionID && c.DBType == m.DBType && isPhysical(c.BackupType) {
			byID[c.BackupID] = c
		}
	}
	all := make([]state.Backup, 0, len(byID))
	for _, c := range byID {
		all = append(all, backupOfManifest(c))
	}
	slices.SortFunc(all, func(a, b state.Backup) int { return b.CompletedAt.Compare(*a.CompletedAt) })
	return byID, all, nil
}

// backupOfManifest is the record a manifest stands for in the engine's
// selection functions.
func backupOfManifest(m objfmt.Manifest) state.Backup {
	b := BackupFromManifest(m, "", m.CompletedAt)
	b.Physical = m.Physical
	return b
}

// offlineRing is the keyring of an offline physical restore: o's key
// under o.KeyID, or else under the key id of the first encrypted manifest
// of ms (the base, or the chain's full first). Objects encrypted under
// another key id fail naming it.
func offlineRing(o OfflineRestoreOptions, ms ...objfmt.Manifest) (objfmt.Keys, error) {
	keys := objfmt.Keys{Identities: o.Identities}
	if o.EncryptionKey == "" {
		return keys, nil
	}
	id := o.KeyID
	for _, m := range ms {
		if id == "" && m.Encrypted {
			id = m.EncryptionKeyID
		}
	}
	if id == "" {
		return keys, nil
	}
	kr, err := crypt.NewKeyring("", map[string]string{id: o.EncryptionKey}, "")
	if err != nil {
		return keys, fmt.Errorf("encryption key: %w", err)
	}
	keys.Ring = kr
	return keys, nil
}

// archiveStore is where the archived WAL or binary logs are.
func archiveStore(o OfflineRestoreOptions) storage.Store {
	if o.ArchiveStore != nil {
		return o.ArchiveStore
	}
	return o.Store
}

// offlinePGDir restores a PostgreSQL base backup (for a point in time: the
// newest base before it and the archived WAL) into o.TargetDir.
func offlinePGDir(ctx context.Context, o OfflineRestoreOptions, m objfmt.Manifest, log *lineLog) (OfflineDirResult, error) {
	res := OfflineDirResult{Backup: m}
	if m.Physical == nil {
		return res, fmt.Errorf("manifest of %s lacks the base backup's LSNs and timeline (physical)", m.BackupID)
	}
	pitr := o.ToTime != nil || o.ToLSN != "" || o.Latest
	var target *pgphys.Target
	if pitr {
		var want uint64
		if o.ToLSN != "" {
			var err error
			if want, err = pgwal.ParseLSN(o.ToLSN); err != nil {
				return res, fmt.Errorf("--to-lsn: %w", err)
			}
		}
		if err := pgphys.CheckRecoveryDir(o.TargetDir); err != nil {
			return res, err
		}
		byID, all, err := connBackups(ctx, o.Store, m, log)
		if err != nil {
			return res, err
		}
		base, ok := newestBase(all, o.ToTime, want)
		if !ok {
			return res, fmt.Errorf("no physical base backup of connection %s in %s completed before the requested point", m.ConnectionName, o.Store)
		}
		m = byID[base.ID]
		res.Backup = m
		// Unlike the daemon, which knows where the archive is, a restore by
		// hand may be pointed at the wrong storage: no archive at all is an
		// error, not a restore to the base's end.
		infos, err := archiveStore(o).List(ctx, walPrefix(m.ConnectionName))
		if err != nil {
			return res, fmt.Errorf("list WAL archive: %w", err)
		}
		if len(infos) == 0 {
			return res, fmt.Errorf("no archived WAL under %s in %s (--archive-storage names the archive's storage when it is not the backup's)",
				walPrefix(m.ConnectionName), archiveStore(o))
		}
		target = &pgphys.Target{Time: o.ToTime, LSN: o.ToLSN}
		log.Printf("RECOVER: base backup %s (completed %s, stop LSN %s) chosen from %d physical backup(s) of connection %s in storage; WAL from %s",
			m.BackupID, m.CompletedAt.Format(time.RFC3339), m.Physical.StopLSN, len(all), m.ConnectionName, archiveStore(o))
	}
	res.Chain = []string{m.BackupID}
	keys, err := offlineRing(o, m)
	if err != nil {
		return res, err
	}
	user := o.CheckUser
	if user == "" {
		user = "postgres"
	}
	log.Printf("RESTORE: physical backup %s (%s %s, completed %s) from %s into new data directory %s",
		m.BackupID, m.DBType, m.ConnectionName, m.CompletedAt.Format(time.RFC3339), o.Store, o.TargetDir)
	r := pgDirRestore{st: o.Store, spec: objfmt.SpecOfManifest(m), keys: keys, base: m.Physical,
		dir: filepath.Clean(o.TargetDir), check: o.Check, pitr: target, walConn: m.ConnectionName,
		walStore: func() (storage.Store, error) { return archiveStore(o), nil },
		dbName:   m.DatabaseName, user: user,
		postgres: func(ctx context.Context) (string, error) { return dump.PgTool(ctx, o.Tools, "postgres") }}
	res.Counts, err = restorePGDir(ctx, r, log)
	return res, err
}

// offlineChainDir restores a MariaDB/MySQL chain (for a point in time: the
// chain of the newest backup before it, then the archived binary logs
// replayed up to it) into o.TargetDir.
func offlineChainDir(ctx context.Context, o OfflineRestoreOptions, m objfmt.Manifest, log *lineLog) (OfflineDirResult, error) {
	res := OfflineDirResult{Backup: m}
	if o.ToLSN != "" || o.Latest {
		return res, fmt.Errorf("--to-lsn and --latest are for PostgreSQL base backups; a %s chain restores to a point in time with --to-time (from its archived binary logs)", m.DBType)
	}
	byID, all, err := connBackups(ctx, o.Store, m, log)
	if err != nil {
		return res, err
	}
	end := backupOfManifest(m)
	if o.ToTime != nil {
		if o.ToTime.After(time.Now()) {
			return res, fmt.Errorf("--to-time %s is in the future", o.ToTime.UTC().Format(time.RFC3339))
		}
		if end = newestBinlogBase(all, m.ConnectionID, *o.ToTime); end.ID == "" {
			return res, fmt.Errorf("--to-time %s: no physical backup of connection %s with binary log coordinates completed at or before it in %s",
				o.ToTime.UTC().Format(time.RFC3339), m.ConnectionName, o.Store)
		}
		res.Backup = byID[end.ID]
	}
	chain, err := chainWith(end, func(id string) (state.Backup, error) {
		c, ok := byID[id]
		if !ok {
			return state.Backup{}, state.ErrNotFound
		}
		return backupOfManifest(c), nil
	})
	if err != nil {
		return res, fmt.Errorf("cannot restore %s: %w (its manifest is not in %s)", end.ID, err, o.Store)
	}
	ms := make([]objfmt.Manifest, len(chain))
	for i, b := range chain {
		ms[i] = byID[b.ID]
		res.Chain = append(res.Chain, b.ID)
	}
	keys, err := offlineRing(o, ms...)
	if err != nil {
		return res, err
	}
	links := make([]mariaphys.Link, len(chain))
	for i, b := range chain {
		links[i] = objectLink(b, o.Store, keys)
	}
	dir := filepath.Clean(o.TargetDir)
	log.Printf("RESTORE: %s chain %s of %d link(s) ending at %s (completed %s) from %s into new data directory %s",
		m.DBType, end.ChainID, len(chain), end.ID, end.CompletedAt.Format(time.RFC3339), o.Store, dir)
	if o.ToTime == nil {
		err = restoreLinks(ctx, links, dir, log)
	} else {
		err = offlineReplay(ctx, o, end, links, keys, dir, log)
	}
	if err != nil || !o.Check {
		return res, err
	}
	res.Counts, err = checkChainDir(ctx, dir, end.DatabaseName, log)
	return res, err
}

// offlineReplay restores links into dir and replays the binary logs
// archived under binlogs/<connection>/ up to o.ToTime.
func offlineReplay(ctx context.Context, o OfflineRestoreOptions, base state.Backup, links []mariaphys.Link, keys objfmt.Keys, dir string, log restoreLog) error {
	logPITRBase(log, base, *o.ToTime)
	prefix, err := storage.SafeKey(BinlogPrefix, base.ConnectionName)
	if err != nil {
		return err
	}
	st := archiveStore(o)
	objs, err := binlogsFrom(ctx, st, prefix, base.BinlogFile)
	if err != nil {
		return err
	}
	return replayPITR(ctx, binlogPITR{st: st, objs: objs, keys: keys, base: base, target: *o.ToTime, dir: dir,
		restoreChain: func(ctx context.Context) error { return restoreLinks(ctx, links, dir, log) }}, log)
}

// checkChainDir starts a throwaway mariadbd on dir (socket only, no
// privilege checks), counts the rows of db and stops it.
func checkChainDir(ctx context.Context, dir, db string, log restoreLog) (map[string]int64, error) {
	srv, err := mariaphys.StartServer(ctx, mariaphys.ServerOptions{Datadir: dir, SkipGrants: true})
	if err != nil {
		return nil, fmt.Errorf("check: start mariadbd on the restored data directory: %w", err)
	}
	defer func() {
		srv.Stop()
		log.Printf("CHECK: throwaway server stopped")
	}()
	log.Printf("CHECK: throwaway mariadbd started on %s", dir)
	counts, err := mariaphys.CountRows(ctx, srv, db)
	if err != nil {
		return nil, fmt.Errorf("check restored data directory: count rows: %w", err)
	}
	logCounts(log, db, counts)
	return counts, nil
}
