package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
)

const restoreLong = `Disaster recovery: restores one backup from storage alone (no daemon, no data
dir). The manifest beside the object gives the database type, compression,
key id and checksums. The whole object is read and verified first (stored
size and sha256, every encrypted chunk, the compressed-stream checksum,
decompression); only then is the target touched, and every check runs again
while the dump streams into pg_restore or mysql/mariadb. On a terminal a
progress bar shows each pass's download (bytes, rate, ETA); the log goes to
stderr.

The target (--to URL) is postgres://USER@HOST:PORT/DB or
mysql://USER@HOST:PORT/DB (mariadb:// also accepted). DB defaults to the
backup's database; it is created when missing. The password is read from
PGPASSWORD / MYSQL_PWD; a password in the URL works too but shows in the
process list and shell history. ?sslmode=... sets the connection's ssl_mode.
Storage keys come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (never
flags); the encryption key from --key-file, else $JAGAD_ENCRYPTION_KEY.

A backup with copies on several destinations (copies_to) has the same
object and manifest under the same key on each. --fallback-storage names
another destination (repeatable, tried in order): local:DIR or
TYPE:BUCKET[/PREFIX][?endpoint=URL&region=R&path_style=BOOL&keys=NAME]
(TYPE s3, r2, minio, gcs, b2 or s3-compat; keys from AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, or NAME_ACCESS_KEY_ID and NAME_SECRET_ACCESS_KEY).
When the primary's manifest or object cannot be read, or the object fails
the verification pass, the next destination is tried before the target is
touched; the log says which copy was restored from.

A physical backup restores into a new data directory instead: --target-dir
DIR (absolute; missing or empty) in place of --to. A PostgreSQL base
backup is unpacked there; a MariaDB/MySQL backup restores with its chain
(the full and the incrementals before it, found through parent_id in the
manifests beside it under backups/<connection>/), extracted, prepared and
moved back with mariadb-backup and mbstream. Every object (base, links,
WAL segments, binary logs) is read through its checks before the directory
is created; a missing link or segment is named. --check starts a
throwaway server on the result (postgres, unix socket only, connecting as
--check-user; or mariadbd, socket only) and counts the rows of the
backup's database.

Point in time: --to-time TIME (RFC 3339), for PostgreSQL also --to-lsn LSN
or --latest, restores the newest base before that point (from the
manifests, whichever backup was named) plus the archived WAL
(wal/<connection>/: recovery settings and recovery.signal are written;
the server recovers to the point and promotes when started) or, for
MariaDB/MySQL, replays the archived binary logs (binlogs/<connection>/)
up to TIME on a throwaway mariadbd. --archive-storage SPEC names the
archive's storage when it is not the backup's. --fallback-storage,
--drop-existing, --single-pass and --no-privileges are for logical dumps.

Exit status: 0 restored, 1 failure, 2 usage error.`

// restoreCommand is the disaster-recovery restore (no daemon, no data dir).
func (a *app) restoreCommand() *cobra.Command {
	var keyFile, keyID, to string
	var identities, fallbacks []string
	var timeout time.Duration
	var o engine.OfflineRestoreOptions
	var pf *physicalRestoreFlags
	cmd := &cobra.Command{
		Use:   "restore [storage flags] [key flags] BACKUP_KEY_OR_MANIFEST (--to URL | --target-dir DIR)",
		Short: "Restore a backup from storage alone, without a daemon",
		Long:  restoreLong,
		Args: func(_ *cobra.Command, args []string) error {
			switch {
			case len(args) != 1:
				return usagef("give exactly one BACKUP_KEY_OR_MANIFEST")
			}
			if pf.targetDir != "" && (o.DropExisting || o.SinglePass || o.Restore.NoPrivileges || len(fallbacks) > 0) {
				return usagef("--drop-existing, --single-pass, --no-privileges and --fallback-storage are for logical dumps (--to)")
			}
			return pf.usage(to)
		},
	}
	f := cmd.Flags()
	sf := addStorageFlags(f)
	f.StringVar(&keyFile, "key-file", "", "`FILE` holding the encryption key (default: $JAGAD_ENCRYPTION_KEY)")
	f.StringVar(&keyID, "key-id", "", "the key `ID` the key belongs to (default: whatever the manifest names)")
	f.StringArrayVar(&identities, "identity", nil, "age identity `FILE` of the recovery recipient (repeatable)")
	f.StringArrayVar(&fallbacks, "fallback-storage", nil,
		"another destination holding a copy, tried when the one above fails: local:DIR or TYPE:BUCKET[/PREFIX][?endpoint=URL&region=R&keys=NAME] (`SPEC`, repeatable)")
	f.StringVar(&to, "to", "", "the target database `URL`")
	f.BoolVar(&o.DropExisting, "drop-existing", false,
		"drop and recreate the target database (after the verification pass); without it the dump's objects replace their namesakes and other objects are kept")
	f.BoolVar(&o.SinglePass, "single-pass", false, "skip the verification pass (faster; a corrupt object can leave the target partly restored)")
	f.BoolVar(&o.Restore.NoPrivileges, "no-privileges", false,
		"PostgreSQL: skip the dump's GRANT and REVOKE statements, for a server that lacks the source's roles")
	f.DurationVar(&timeout, "timeout", 6*time.Hour, "give up after this `DURATION`")
	pf = addPhysicalRestoreFlags(f)
	cmd.RunE = func(_ *cobra.Command, pos []string) error {
		if pf.targetDir != "" {
			if err := prepareStorageAndKeys(&o, sf, pos, keyFile, keyID, identities, a.env); err != nil {
				return err
			}
			if err := pf.fill(&o, a.env); err != nil {
				return err
			}
			return a.restorePhysical(o, timeout)
		}
		if err := prepareRestore(&o, sf, pos, keyFile, keyID, to, identities, a.env); err != nil {
			return err
		}
		if err := openFallbacks(&o, fallbacks, a.env); err != nil {
			return err
		}
		p := newRestoreProgress(o.Store, a.stdout, a.stderr, o.SinglePass)
		o.Store, o.Log = p, p.log
		for i, st := range o.Fallbacks {
			o.Fallbacks[i] = p.wrap(st)
		}
		ctx, cancel := signalContext(timeout)
		defer cancel()
		m, err := engine.RestoreOffline(ctx, o)
		p.finish()
		if err != nil {
			return err
		}
		db := o.Target.Database
		if db == "" {
			db = m.DatabaseName
		}
		fmt.Fprintf(a.stdout, "restored backup %s (%s %s/%s) into %s database %s\n",
			m.BackupID, m.DBType, m.ConnectionName, m.DatabaseName, o.Target.Addr(), db)
		return nil
	}
	return cmd
}

// prepareRestore fills o from the parsed command line and the environment.
func prepareRestore(o *engine.OfflineRestoreOptions, sf *storageFlags, pos []string, keyFile, keyID, to string,
	identities []string, env func(string) (string, bool)) error {
	if err := prepareStorageAndKeys(o, sf, pos, keyFile, keyID, identities, env); err != nil {
		return err
	}
	var err error
	if o.Target, err = parseTargetURL(to, env); err != nil {
		return usageError{err}
	}
	return nil
}

// prepareStorageAndKeys opens the storage and reads the keys.
func prepareStorageAndKeys(o *engine.OfflineRestoreOptions, sf *storageFlags, pos []string, keyFile, keyID string,
	identities []string, env func(string) (string, bool)) error {
	spec, err := sf.spec(env)
	if err != nil {
		return err
	}
	if o.Store, err = openStorage(spec); err != nil {
		return err
	}
	o.Key, o.KeyID = pos[0], keyID
	if o.EncryptionKey, err = readKey(keyFile, env); err != nil {
		return err
	}
	o.Identities, err = crypt.LoadIdentities(identities)
	return err
}

// openFallbacks opens the --fallback-storage destinations, in order.
func openFallbacks(o *engine.OfflineRestoreOptions, specs []string, env func(string) (string, bool)) error {
	for _, raw := range specs {
		spec, err := parseStorageSpec(raw, env)
		if err != nil {
			return usagef("--fallback-storage %v", err)
		}
		st, err := openStorage(spec)
		if err != nil {
			return usagef("--fallback-storage %q: %v", raw, err)
		}
		o.Fallbacks = append(o.Fallbacks, st)
	}
	return nil
}

// readKey reads the encryption key from a file or $JAGAD_ENCRYPTION_KEY.
func readKey(path string, env func(string) (string, bool)) (string, error) {
	if path == "" {
		return envOr(env, crypt.EnvKey, ""), nil
	}
	return crypt.ReadKeyFile(path)
}

// parseTargetURL reads postgres://, mysql:// or mariadb:// URLs. The
// password is the URL's, else PGPASSWORD or MYSQL_PWD.
func parseTargetURL(raw string, env func(string) (string, bool)) (dbclient.Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return dbclient.Target{}, errors.New("--to: not a URL (postgres://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB)")
	}
	var t dbclient.Target
	pwEnv := "MYSQL_PWD"
	switch u.Scheme {
	case "postgres", "postgresql":
		t.DBType, pwEnv = dbclient.PostgreSQL, "PGPASSWORD"
		t.SSLMode = u.Query().Get("sslmode")
	case "mysql":
		t.DBType = dbclient.MySQL
	case "mariadb":
		t.DBType = dbclient.MariaDB
	default:
		return t, fmt.Errorf("--to: unsupported scheme %q (postgres, mysql or mariadb)", u.Scheme)
	}
	if t.DBType != dbclient.PostgreSQL {
		t.SSLMode = u.Query().Get("ssl-mode")
	}
	t.Host = u.Hostname()
	if p := u.Port(); p != "" {
		if t.Port, err = strconv.Atoi(p); err != nil {
			return t, fmt.Errorf("--to: bad port %q", p)
		}
	}
	if u.User != nil {
		t.User = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	if t.Password == "" {
		t.Password = envOr(env, pwEnv, "")
	}
	t.Database = strings.TrimPrefix(u.Path, "/")
	if err := t.Validate(); err != nil {
		return t, fmt.Errorf("--to: %w", err)
	}
	return t, nil
}
