package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

const catalogLong = `Backup records from storage alone.

rebuild re-creates backup records in a data dir (normally a new, empty one)
from every *.manifest.json in storage, and a storage provider record for that
storage (its secret key sealed with the master key: JAGAD_MASTER_KEY, or
DIR/master.key, generated when missing). Backups already recorded are left
alone. list prints the backups the storage describes.

Storage keys come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (never
flags).

Exit status: 0 success, 1 failure, 2 usage error.`

// catalogCommand is `jagad catalog rebuild|list`.
func (a *app) catalogCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Rebuild or list backup records from the manifests in storage",
		Long:  catalogLong,
	}
	cmd.AddCommand(a.catalogRebuildCommand(), a.catalogListCommand())
	return cmd
}

func (a *app) catalogRebuildCommand() *cobra.Command {
	var dataDir, name string
	cmd := &cobra.Command{
		Use:   "rebuild --data-dir DIR [storage flags] [--provider-name NAME]",
		Short: "Re-create backup records in a data dir from the manifests in storage",
		Long: `Re-creates backup records in a data dir (normally a new, empty one) from
every *.manifest.json in storage, and a storage provider record for that
storage (its secret key sealed with the master key: JAGAD_MASTER_KEY, or
DIR/master.key, generated when missing). Backups already recorded are left
alone. Storage keys come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.

Exit status: 0 success, 1 failure, 2 usage error.`,
		Args: noArgs(""),
	}
	sf := addStorageFlags(cmd.Flags())
	cmd.Flags().StringVar(&dataDir, "data-dir", envOr(a.env, "JAGAD_DATA_DIR", ""), "the data `DIR` to rebuild into (JAGAD_DATA_DIR)")
	cmd.Flags().StringVar(&name, "provider-name", "", "`NAME` of the storage provider record (default recovered-TYPE)")
	cmd.RunE = func(*cobra.Command, []string) error {
		spec, err := sf.spec(a.env)
		if err != nil {
			return err
		}
		if dataDir == "" {
			return usagef("--data-dir (or JAGAD_DATA_DIR) is required")
		}
		st, err := openStorage(spec)
		if err != nil {
			return err
		}
		spec.Name = name
		if spec.Name == "" {
			spec.Name = "recovered-" + spec.ProviderType
		}
		ctx, cancel := signalContext(time.Hour)
		defer cancel()
		return catalogRebuild(ctx, dataDir, st, spec, a.stdout, a.stderr, a.env)
	}
	return cmd
}

func (a *app) catalogListCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list [storage flags]",
		Short: "List the backups the manifests in storage describe",
		Long: `Prints a table of the backups the *.manifest.json in storage describe;
unreadable manifests are warned about on stderr. Storage keys come from
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.

Exit status: 0 success, 1 failure, 2 usage error.`,
		Args: noArgs(""),
	}
	sf := addStorageFlags(cmd.Flags())
	cmd.RunE = func(*cobra.Command, []string) error {
		spec, err := sf.spec(a.env)
		if err != nil {
			return err
		}
		st, err := openStorage(spec)
		if err != nil {
			return err
		}
		ctx, cancel := signalContext(time.Hour)
		defer cancel()
		return catalogList(ctx, st, a.stdout, a.stderr)
	}
	return cmd
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
