package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

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
	for _, id := range res.Copies { // recorded from another destination before
		fmt.Fprintf(stdout, "copy of %s on %s added\n", id, res.Provider.Name)
	}
	return nil
}
