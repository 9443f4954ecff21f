package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
)

const restoreUsage = `Usage: jagad restore [storage flags] [key flags] [--drop-existing] [--single-pass]
                     [--no-privileges] BACKUP_KEY_OR_MANIFEST --to URL

Disaster recovery: restores one backup from storage alone (no daemon, no data
dir). The manifest beside the object gives the database type, compression,
key id and checksums. The whole object is read and verified first (stored
size and sha256, every encrypted chunk, the compressed-stream checksum,
decompression); only then is the target touched, and every check runs again
while the dump streams into pg_restore or mysql/mariadb.

Storage flags:
  --storage-type T   local | s3 | r2 | minio | gcs | b2 | s3-compat
  --path DIR         local: the storage directory
  --endpoint URL --bucket B --region R --prefix P --path-style
                     S3 family; keys come from AWS_ACCESS_KEY_ID and
                     AWS_SECRET_ACCESS_KEY (never flags)
Key flags (encrypted backups):
  --key-file F       file holding the key; default: $JAGAD_ENCRYPTION_KEY
  --key-id ID        the key id the key belongs to (default: whatever the
                     manifest names)
  --identity F       age identity file of the recovery recipient (repeatable)
Target:
  --to URL           postgres://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB
                     (mariadb:// also accepted). DB defaults to the backup's
                     database; it is created when missing. The password is
                     read from PGPASSWORD / MYSQL_PWD; a password in the URL
                     works too but shows in the process list and shell history.
                     ?sslmode=... sets the connection's ssl_mode.
  --drop-existing    drop and recreate the target database (after the
                     verification pass). Without it the dump's objects replace
                     their namesakes and other objects are kept.
  --single-pass      skip the verification pass (faster; a corrupt object can
                     leave the target partly restored)
  --no-privileges    PostgreSQL: skip the dump's GRANT and REVOKE statements,
                     for a server that lacks the source's roles
  --timeout D        give up after D (default 6h)
  -h, --help         show this help

Exit status: 0 restored, 1 failure, 2 usage error.
`

// runRestore is the disaster-recovery restore (no daemon, no data dir).
func runRestore(args []string, _ io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	sf := addStorageFlags(fs)
	var keyFile, keyID, to string
	var identities []string
	var o engine.OfflineRestoreOptions
	timeout := fs.Duration("timeout", 6*time.Hour, "")
	fs.StringVar(&keyFile, "key-file", "", "")
	fs.StringVar(&keyID, "key-id", "", "")
	fs.Func("identity", "", func(v string) error { identities = append(identities, v); return nil })
	fs.StringVar(&to, "to", "", "")
	fs.BoolVar(&o.DropExisting, "drop-existing", false, "")
	fs.BoolVar(&o.Restore.NoPrivileges, "no-privileges", false, "")
	fs.BoolVar(&o.SinglePass, "single-pass", false, "")
	pos, err := parseInterspersed(fs, args)
	if code, ok := helpOrUsage(err, "restore", restoreUsage, stdout, stderr); !ok {
		return code
	}
	switch {
	case len(pos) != 1:
		return reportUsage(stderr, "restore", errors.New("give exactly one BACKUP_KEY_OR_MANIFEST"))
	case to == "":
		return reportUsage(stderr, "restore", errors.New("--to URL is required"))
	}
	if err := prepareRestore(&o, sf, pos, keyFile, keyID, to, identities, env); err != nil {
		return failOrUsage(stderr, "restore", err)
	}
	o.Log = stderr
	ctx, cancel := signalContext(*timeout)
	defer cancel()
	m, err := engine.RestoreOffline(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "jagad restore: %v\n", err)
		return 1
	}
	db := o.Target.Database
	if db == "" {
		db = m.DatabaseName
	}
	fmt.Fprintf(stdout, "restored backup %s (%s %s/%s) into %s database %s\n",
		m.BackupID, m.DBType, m.ConnectionName, m.DatabaseName, o.Target.Addr(), db)
	return 0
}

// prepareRestore fills o from the parsed command line and the environment.
func prepareRestore(o *engine.OfflineRestoreOptions, sf *storageFlags, pos []string, keyFile, keyID, to string,
	identities []string, env func(string) (string, bool)) error {
	spec, err := sf.spec(env)
	if err != nil {
		return err
	}
	if o.Store, err = openStorage(spec); err != nil {
		return err
	}
	o.Key, o.KeyID = pos[0], keyID
	if o.Target, err = parseTargetURL(to, env); err != nil {
		return usageError{err}
	}
	if o.EncryptionKey, err = readKey(keyFile, env); err != nil {
		return err
	}
	o.Identities, err = crypt.LoadIdentities(identities)
	return err
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
