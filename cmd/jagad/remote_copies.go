package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jagad/jagad/api/client"
)

// Several destinations per backup: the copies table of `jagad backups show`
// and `jagad backups copy` (the backfill endpoint).

// findProvider finds a storage provider by ID or name.
func (r *remote) findProvider(ctx context.Context, c *client.Client, key string) (client.Provider, error) {
	return pick(ctx, c, (*client.Client).Providers, key, func(p client.Provider) (string, string) { return p.ID, p.Name },
		fmt.Errorf("storage provider %q %w (see GET /api/storage-providers)", key, errNotFound))
}

// copiesTable prints every copy of b, the primary first, exactly as the
// daemon lists them. A copy recorded without its provider's name is named
// from the providers list (names lists, when given), else by its ID.
func (r *remote) copiesTable(b client.Backup, names map[string]string) error {
	now := r.clock()
	t := newTable(r.stdout, "PROVIDER", "ROLE", "STATUS", "SIZE", "UPLOADED", "VERIFIED", "ERROR")
	for _, c := range b.Replicas {
		name := c.ProviderName
		if name == "" {
			name = names[c.ProviderID]
		}
		if name == "" {
			name = c.ProviderID
		}
		role := "copy"
		if c.Primary {
			role = "primary"
		}
		status := c.Status
		if c.Attempts > 1 {
			status += fmt.Sprintf(" (%d attempts)", c.Attempts)
		}
		verified := ago(c.VerifiedAt, now)
		if verified != "" && c.VerifyStatus != "" {
			verified = c.VerifyStatus + " " + verified
		}
		t.row(name, role, status, sizeOr(c.SizeBytes), ago(c.UploadedAt, now), verified, oneLine(c.Error))
	}
	return t.flush()
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// providerNames maps provider IDs to names when a copy of b was recorded
// without its provider's name (a record made before copies were named);
// nil otherwise, or when the daemon does not list providers to this token.
func providerNames(ctx context.Context, c *client.Client, b client.Backup) map[string]string {
	need := false
	for _, r := range b.Replicas {
		need = need || r.ProviderName == ""
	}
	if !need {
		return nil
	}
	all, _, err := c.Providers(ctx)
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, p := range all {
		m[p.ID] = p.Name
	}
	return m
}

func (r *remote) backupsCopy() *cobra.Command {
	var to string
	var wait bool
	cmd := &cobra.Command{
		Use:   "copy BACKUP_ID --to PROVIDER",
		Short: "Copy a backup to another storage provider (name or ID), e.g. to fill a new offsite bucket",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return usagef("--to names the storage provider to copy to")
			}
			return r.do(func(ctx context.Context, c *client.Client) error {
				p, err := r.findProvider(ctx, c, to)
				if err != nil {
					return err
				}
				_, raw, err := c.CopyBackup(ctx, args[0], p.ID)
				if err != nil {
					return err
				}
				if !wait {
					return r.say(raw, "Copy of %s to %s started. Follow it with: jagad backups show %s\n", args[0], p.Name, args[0])
				}
				return r.waitCopy(ctx, c, args[0], p)
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the storage provider to copy to (name or ID)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the copy is stored; exit 1 if it fails")
	return cmd
}

// waitCopy follows the copy of backup id on p until it is no longer pending.
func (r *remote) waitCopy(ctx context.Context, c *client.Client, id string, p client.Provider) error {
	var rep client.Replica
	_, raw, err := poll(ctx, func() (client.Backup, json.RawMessage, error) { return c.Backup(ctx, id) },
		func(b client.Backup) (bool, error) {
			found := false
			for _, x := range b.Replicas {
				if x.ProviderID == p.ID {
					rep, found = x, true
				}
			}
			if !found {
				return false, fmt.Errorf("backup %s lists no copy on %s any more (deleted meanwhile?)", id, p.Name)
			}
			return rep.Status != "pending", nil
		})
	if err != nil {
		return err
	}
	return r.ended(raw, rep.Status == "success", jobFailed{"copy to " + p.Name + " of backup", id, rep.Error},
		"Backup %s copied to %s (%s).\n", id, p.Name, sizeOr(rep.SizeBytes))
}
