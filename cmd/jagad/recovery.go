package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
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

const catalogUsage = `Usage:
  jagad catalog rebuild --data-dir DIR [storage flags] [--provider-name NAME]
  jagad catalog list [storage flags]

rebuild re-creates backup records in a data dir (normally a new, empty one)
from every *.manifest.json in storage, and a storage provider record for that
storage (its secret key sealed with the master key: JAGAD_MASTER_KEY, or
DIR/master.key, generated when missing). Backups already recorded are left
alone. list prints the backups the storage describes.

Storage flags: --storage-type, --path, --endpoint, --bucket, --region,
--prefix, --path-style (keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
-h, --help shows this help.

Exit status: 0 success, 1 failure, 2 usage error.
`

// storageFlags select a store from the command line and the environment.
type storageFlags struct {
	typ, path, endpoint, bucket, region, prefix string
	pathStyle                                   bool
	pathStyleSet                                bool
}

func addStorageFlags(fs *flag.FlagSet) *storageFlags {
	s := &storageFlags{}
	fs.StringVar(&s.typ, "storage-type", "", "")
	fs.StringVar(&s.path, "path", "", "")
	fs.StringVar(&s.endpoint, "endpoint", "", "")
	fs.StringVar(&s.bucket, "bucket", "", "")
	fs.StringVar(&s.region, "region", "", "")
	fs.StringVar(&s.prefix, "prefix", "", "")
	fs.BoolFunc("path-style", "", func(v string) error {
		b, err := strconv.ParseBool(v)
		s.pathStyle, s.pathStyleSet = b, true
		return err
	})
	return s
}

// spec is the provider these flags describe; secrets come from env only.
func (s *storageFlags) spec(env func(string) (string, bool)) (state.ProviderSpec, error) {
	if s.typ == "" {
		return state.ProviderSpec{}, usagef("--storage-type is required (local, s3, r2, minio, gcs, b2 or s3-compat)")
	}
	p := state.ProviderSpec{ProviderType: s.typ, Endpoint: s.endpoint, Region: s.region, Bucket: s.bucket,
		Prefix: s.prefix, PathStyle: storage.DefaultPathStyle(s.typ)}
	if s.pathStyleSet {
		p.PathStyle = s.pathStyle
	}
	if s.typ == storage.TypeLocal {
		if s.path == "" {
			return p, usagef("--path is required for local storage")
		}
		abs, err := filepath.Abs(s.path)
		if err != nil {
			return p, err
		}
		p.Path = abs
	} else {
		p.AccessKey = envOr(env, "AWS_ACCESS_KEY_ID", "")
		p.SecretKey = state.Secret(envOr(env, "AWS_SECRET_ACCESS_KEY", ""))
	}
	return p, nil
}

func openStorage(p state.ProviderSpec) (storage.Store, error) {
	return storage.Open(storage.Config{Type: p.ProviderType, Path: p.Path, Endpoint: p.Endpoint, Region: p.Region,
		Bucket: p.Bucket, Prefix: p.Prefix, AccessKey: p.AccessKey, SecretKey: p.SecretKey.Reveal(), PathStyle: p.PathStyle})
}

// parseInterspersed parses flags before and after positional arguments. It
// prints nothing: see helpOrUsage.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// failOrUsage reports err: a usageError exits 2, anything else 1.
func failOrUsage(stderr io.Writer, cmd string, err error) int {
	if errors.As(err, new(usageError)) {
		return reportUsage(stderr, cmd, err)
	}
	fmt.Fprintf(stderr, "jagad %s: %v\n", cmd, err)
	return exitFailure
}

// helpOrUsage handles the error of parseInterspersed: --help prints the
// command's usage on stdout (exit 0), a usage error goes to stderr (exit 2).
// It returns ok when there was no error.
func helpOrUsage(err error, cmd, usage string, stdout, stderr io.Writer) (int, bool) {
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return exitOK, false
	default:
		return reportUsage(stderr, cmd, err), false
	}
}

func signalContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, func() { cancel(); stop() }
}

// runRestore is the disaster-recovery restore (no daemon, no data dir).
func runRestore(args []string, _ io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	sf := addStorageFlags(fs)
	var keyFile, keyID, to string
	var identities []string
	var o engine.RecoverOptions
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
	m, err := engine.Recover(ctx, o)
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
func prepareRestore(o *engine.RecoverOptions, sf *storageFlags, pos []string, keyFile, keyID, to string,
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

// runCatalog rebuilds backup records from the manifests in storage.
func runCatalog(args []string, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	switch {
	case len(args) > 0 && (args[0] == "rebuild" || args[0] == "list"):
	case wantsHelp(args[:min(len(args), 1)]):
		fmt.Fprint(stdout, catalogUsage)
		return exitOK
	case len(args) == 0:
		return reportUsage(stderr, "catalog", errors.New("missing subcommand: rebuild or list"))
	default:
		return reportUsage(stderr, "catalog", fmt.Errorf("unknown subcommand %q: use rebuild or list", args[0]))
	}
	sub := args[0]
	fs := flag.NewFlagSet("catalog "+sub, flag.ContinueOnError)
	sf := addStorageFlags(fs)
	var dataDir, name string
	if sub == "rebuild" {
		fs.StringVar(&dataDir, "data-dir", envOr(env, "JAGAD_DATA_DIR", ""), "")
		fs.StringVar(&name, "provider-name", "", "")
	}
	pos, err := parseInterspersed(fs, args[1:])
	if code, ok := helpOrUsage(err, "catalog "+sub, catalogUsage, stdout, stderr); !ok {
		return code
	}
	if len(pos) > 0 {
		return reportUsage(stderr, "catalog "+sub, fmt.Errorf("unexpected argument %q", pos[0]))
	}
	spec, err := sf.spec(env)
	if err == nil && sub == "rebuild" && dataDir == "" {
		err = usagef("--data-dir (or JAGAD_DATA_DIR) is required")
	}
	var st storage.Store
	if err == nil {
		st, err = openStorage(spec)
	}
	if err == nil {
		ctx, cancel := signalContext(time.Hour)
		defer cancel()
		if sub == "list" {
			err = catalogList(ctx, st, stdout, stderr)
		} else {
			spec.Name = name
			if spec.Name == "" {
				spec.Name = "recovered-" + spec.ProviderType
			}
			err = catalogRebuild(ctx, dataDir, st, spec, stdout, stderr, env)
		}
	}
	if err != nil {
		return failOrUsage(stderr, "catalog "+sub, err)
	}
	return exitOK
}

func catalogList(ctx context.Context, st storage.Store, stdout, stderr io.Writer) error {
	entries, err := engine.ReadCatalog(ctx, st)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKUP ID\tCOMPLETED\tDB TYPE\tCONNECTION/DATABASE\tSIZE\tSTORED\tENCRYPTION KEY\tOBJECT")
	for _, e := range entries {
		if e.Err != nil {
			fmt.Fprintf(stderr, "warning: %s: %v\n", e.ManifestKey, e.Err)
			continue
		}
		m := e.Manifest
		key := "-"
		if m.Encrypted {
			key = m.EncryptionKeyID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s/%s\t%d\t%d\t%s\t%s\n", m.BackupID, m.CompletedAt.Format(time.RFC3339),
			m.DBType, m.ConnectionName, m.DatabaseName, m.SizeBytes, m.StoredSizeBytes, key, m.ObjectKey)
	}
	return tw.Flush()
}

func catalogRebuild(ctx context.Context, dataDir string, st storage.Store, spec state.ProviderSpec,
	stdout, stderr io.Writer, env func(string) (string, bool)) error {
	key, generated, err := state.LoadOrCreateMasterKey(dataDir, envOr(env, "JAGAD_MASTER_KEY", ""))
	if err != nil {
		return err
	}
	if generated {
		fmt.Fprintf(stderr, "warning: generated a new master key in %s; back it up (or set JAGAD_MASTER_KEY)\n",
			filepath.Join(dataDir, state.MasterKeyFile))
	}
	store, err := state.Open(state.Options{Dir: dataDir, MasterKey: key, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("open data dir %s: %w", dataDir, err)
	}
	defer store.Close()
	res, err := engine.RebuildCatalog(ctx, store, st, spec, time.Now())
	if err != nil {
		return err
	}
	for _, e := range res.Skipped {
		fmt.Fprintf(stderr, "warning: skipped %s: %v\n", e.ManifestKey, e.Err)
	}
	how := "reused"
	if res.ProviderCreated {
		how = "created"
	}
	fmt.Fprintf(stdout, "storage provider %q (%s) %s; %d backups added, %d already recorded, %d skipped\n",
		res.Provider.Name, res.Provider.ID, how, len(res.Added), len(res.Existing), len(res.Skipped))
	for _, id := range res.Added {
		fmt.Fprintf(stdout, "added %s\n", id)
	}
	return nil
}
