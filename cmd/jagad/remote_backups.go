package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jagad/jagad/api/client"
	"github.com/jagad/jagad/cmd/jagad/internal/bar"
)

// statusCmd is `jagad status`: the daemon's health, the session, and a
// summary of the backups.
func (r *remote) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the daemon's health, who you are, and the latest backups",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.do(func(ctx context.Context, c *client.Client) error {
				h, hraw, err := c.Health(ctx)
				if err != nil {
					return err
				}
				// A token the daemon does not describe at /api/auth/check (any
				// answer but 401) still shows the rest.
				sess, sraw, err := c.Check(ctx)
				if err != nil && client.StatusOf(err) == 0 || client.StatusOf(err) == http.StatusUnauthorized {
					return err
				}
				if err != nil {
					sraw = json.RawMessage("null")
				}
				bs, braw, err := c.Backups(ctx, client.BackupQuery{Limit: 5})
				if err != nil {
					return err
				}
				if r.json {
					return r.encodeJSON(map[string]json.RawMessage{"server": mustJSON(c.Base()), "health": hraw, "session": sraw, "backups": braw})
				}
				now := r.clock()
				state := h.Status
				if h.Reason != "" {
					state += " (" + h.Reason + ")"
				}
				expires := stamp(&sess.Expires, now)
				if sess.User == "" {
					expires = ""
				}
				if err := fields(r.stdout, "Server", c.Base(), "Status", state, "Version", h.Version,
					"Encryption", yesNo(h.Encryption), "Storage", yesNo(h.Providers), "User", sess.User,
					"Session expires", expires); err != nil {
					return err
				}
				if len(bs) == 0 {
					fmt.Fprintln(r.stdout, "\nNo backups yet.")
					return nil
				}
				fmt.Fprintln(r.stdout, "\nLatest backups:")
				return r.backupTable(bs)
			})
		},
	}
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func (r *remote) backupsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "backups", Short: "List, run, verify, restore, download and delete backups", Args: cobra.NoArgs}
	cmd.AddCommand(r.backupsList(), r.backupsShow(), r.backupsLogs(), r.backupsRun(), r.backupsVerify(),
		r.backupsRestore(), r.backupsDownload(), r.backupsDelete(), r.backupsCopy())
	return cmd
}

func (r *remote) backupsList() *cobra.Command {
	var q client.BackupQuery
	var sched, conn string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List backups, newest first",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.do(func(ctx context.Context, c *client.Client) error {
				if sched != "" {
					s, err := r.findSchedule(ctx, c, sched)
					if err != nil {
						return err
					}
					q.ScheduleID = s.ID
				}
				if conn != "" {
					cn, err := r.findConnection(ctx, c, conn)
					if err != nil {
						return err
					}
					q.ConnectionID = cn.ID
				}
				bs, raw, err := c.Backups(ctx, q)
				if err != nil {
					return err
				}
				return r.reply(raw, func() error {
					if len(bs) == 0 {
						fmt.Fprintln(r.stdout, "No backups.")
						return nil
					}
					return r.backupTable(bs)
				})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&sched, "schedule", "", "only this schedule's backups (name or ID)")
	f.StringVar(&conn, "connection", "", "only this connection's backups (name or ID)")
	f.StringVar(&q.Status, "status", "", "only backups with this status (queued, running, success, failed)")
	f.IntVar(&q.Limit, "limit", 50, "at most this many (the daemon caps it at 100)")
	f.IntVar(&q.Offset, "offset", 0, "skip this many")
	return cmd
}

func (r *remote) backupTable(bs []client.Backup) error {
	now := r.clock()
	return writeTable(r.stdout, bs, []string{"ID", "DATABASE", "SCHEDULE", "STATUS", "VERIFY", "SIZE", "STORED", "COPIES", "DURATION", "CREATED"},
		func(b client.Backup) []string {
			return []string{b.ID, b.ConnectionName + "/" + b.DatabaseName, b.ScheduleName, b.Status, b.VerifyStatus,
				sizeOr(b.SizeBytes), sizeOr(b.StoredSizeBytes), copiesCell(b.Replicas), duration(b.DurationMs), ago(&b.CreatedAt, now)}
		})
}

// copiesCell is "stored/listed" over a backup's copies: 2/3 is two copies
// stored and one pending or failed. Empty when the backup lists none.
func copiesCell(rs []client.Replica) string {
	if len(rs) == 0 {
		return ""
	}
	good := 0
	for _, r := range rs {
		if r.Status == "success" {
			good++
		}
	}
	return fmt.Sprintf("%d/%d", good, len(rs))
}

func (r *remote) backupsShow() *cobra.Command {
	return &cobra.Command{
		Use:   "show BACKUP_ID",
		Short: "Show one backup",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.do(func(ctx context.Context, c *client.Client) error {
				b, raw, err := c.Backup(ctx, args[0])
				if err != nil {
					return err
				}
				return r.reply(raw, func() error {
					if err := r.showBackup(b); err != nil {
						return err
					}
					if len(b.Replicas) == 0 {
						return nil
					}
					fmt.Fprintln(r.stdout, "\nCopies:")
					return r.copiesTable(b, providerNames(ctx, c, b))
				})
			})
		},
	}
}

func (r *remote) showBackup(b client.Backup) error {
	now := r.clock()
	encrypted := "no"
	if b.EncryptionAlgo != "" {
		encrypted = b.EncryptionAlgo
	}
	kv := []string{
		"ID", b.ID, "Status", b.Status, "Connection", b.ConnectionName, "Database", b.DatabaseName,
		"Schedule", b.ScheduleName, "Type", b.DBType + " " + b.BackupType,
		"Size", sizeOr(b.SizeBytes), "Stored size", sizeOr(b.StoredSizeBytes),
		"Compression", b.Compression, "Encryption", encrypted,
		"Checksum", b.Checksum, "Stored checksum", b.EncryptedChecksum,
		"Storage path", b.StoragePath, "Verify", strings.TrimSpace(b.VerifyStatus + " " + b.VerifyMode),
		"Verified", stamp(b.VerifiedAt, now),
		"Started", stamp(b.StartedAt, now), "Completed", stamp(b.CompletedAt, now), "Duration", duration(b.DurationMs),
	}
	if p := b.Progress; p != nil {
		kv = append(kv, "Progress", progressLine(p))
	}
	if b.Status == "failed" && b.LogOutput != "" {
		kv = append(kv, "Error", client.FailureOf(b.LogOutput))
	}
	return fields(r.stdout, kv...)
}

func sizeOr(n int64) string {
	if n <= 0 {
		return ""
	}
	return bar.Size(n)
}

func progressLine(p *client.Progress) string {
	s := fmt.Sprintf("%s, %s read", p.Phase, bar.Size(p.BytesRead))
	if p.Percent != nil {
		s += fmt.Sprintf(" (%.0f%%)", *p.Percent)
	}
	return s
}

func (r *remote) backupsLogs() *cobra.Command {
	return &cobra.Command{
		Use:   "logs BACKUP_ID",
		Short: "Print a backup's log",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.do(func(ctx context.Context, c *client.Client) error {
				log, raw, err := c.BackupLogs(ctx, args[0])
				if err != nil {
					return err
				}
				if log != "" && !strings.HasSuffix(log, "\n") {
					log += "\n"
				}
				return r.reply(raw, func() error {
					_, err := fmt.Fprint(r.stdout, log)
					return err
				})
			})
		},
	}
}

func (r *remote) backupsRun() *cobra.Command {
	var conn, db, typ, provider string
	var wait bool
	cmd := &cobra.Command{
		Use:   "run [SCHEDULE]",
		Short: "Start a backup now: of a schedule (name or ID), or of --connection and --database",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (conn != "" || db != "") {
				return usagef("give a schedule, or --connection and --database")
			}
			if len(args) == 0 && (conn == "" || db == "") {
				return usagef("--connection and --database go together")
			}
			return r.do(func(ctx context.Context, c *client.Client) error {
				req := client.BackupRequest{BackupType: typ, StorageProviderID: provider}
				if len(args) == 1 {
					s, err := r.findSchedule(ctx, c, args[0])
					if err != nil {
						return err
					}
					req.ScheduleID, req.ConnectionID, req.DatabaseID = s.ID, s.ConnectionID, s.DatabaseID
					if req.BackupType == "" {
						req.BackupType = s.BackupType
					}
					if req.StorageProviderID == "" {
						req.StorageProviderID = s.StorageProviderID
					}
				} else {
					cn, err := r.findConnection(ctx, c, conn)
					if err != nil {
						return err
					}
					d, err := r.findDatabase(ctx, c, cn, db)
					if err != nil {
						return err
					}
					req.ConnectionID, req.DatabaseID = cn.ID, d.ID
				}
				b, raw, err := c.StartBackup(ctx, req)
				if err != nil {
					return err
				}
				return r.started(raw, wait, "Backup", b.ID, b.Status, "backups", func() error { return r.waitBackup(ctx, c, b.ID) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&conn, "connection", "", "connection (name or ID), with --database")
	f.StringVar(&db, "database", "", "database name or ID, with --connection")
	f.StringVar(&typ, "type", "", "backup type (default: the schedule's, else full)")
	f.StringVar(&provider, "storage", "", "storage provider ID (default: the schedule's, else the default provider)")
	f.BoolVar(&wait, "wait", false, "follow the backup to its end with a progress bar; exit 1 if it fails")
	return cmd
}

// started answers a command that started a backup or restore (what): with
// --wait, "<what> ID started." (not with --json) and then follow, which
// waits for the job's end; without, the daemon's answer or where to follow
// the job (jagad <kind> show ID).
func (r *remote) started(raw json.RawMessage, wait bool, what, id, status, kind string, follow func() error) error {
	if !wait {
		return r.say(raw, "%s %s started (%s). Follow it with: jagad %s show %s\n", what, id, status, kind, id)
	}
	if !r.json {
		fmt.Fprintf(r.stdout, "%s %s started.\n", what, id)
	}
	return follow()
}

func (r *remote) backupsVerify() *cobra.Command {
	var mode string
	var wait bool
	cmd := &cobra.Command{
		Use:   "verify BACKUP_ID",
		Short: "Verify a backup's stored object (deep: decrypt, decompress and read the dump; quick: checksum)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch mode {
			case "", "quick", "deep":
			default:
				return usagef("--mode must be quick or deep, not %q", mode)
			}
			return r.do(func(ctx context.Context, c *client.Client) error {
				raw, err := c.VerifyBackup(ctx, args[0], mode)
				if err != nil {
					return err
				}
				if !wait {
					return r.say(raw, "Verification of %s started. See the result with: jagad backups show %s\n", args[0], args[0])
				}
				return r.waitVerify(ctx, c, args[0])
			})
		},
	}
	cmd.Flags().StringVar(&mode, "mode", "", "quick or deep (default deep)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the result; exit 1 if verification fails")
	return cmd
}

func (r *remote) backupsRestore() *cobra.Command {
	var req client.RestoreRequest
	var conn, toTime string
	var wait bool
	cmd := &cobra.Command{
		Use:   "restore BACKUP_ID",
		Short: "Restore a backup (into its own database, or --to-connection / --to-database)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if toTime != "" {
				ts, err := time.Parse(time.RFC3339Nano, toTime)
				if err != nil {
					return usagef("--to-time: %v (want RFC 3339, e.g. 2026-01-01T14:37:00Z)", err)
				}
				req.TargetTime = &ts
			}
			return r.do(func(ctx context.Context, c *client.Client) error {
				if conn != "" {
					cn, err := r.findConnection(ctx, c, conn)
					if err != nil {
						return err
					}
					req.TargetConnection = cn.ID
				}
				res, raw, err := c.RestoreBackup(ctx, args[0], req)
				if err != nil {
					return err
				}
				return r.started(raw, wait, "Restore", res.ID, res.Status, "restores", func() error { return r.waitRestore(ctx, c, res.ID) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&conn, "to-connection", "", "restore into this connection (name or ID; default: the backup's)")
	f.StringVar(&req.TargetDatabase, "to-database", "", "restore into this database (default: the backup's)")
	f.BoolVar(&req.DropExisting, "drop-existing", false, "drop the target's objects before restoring")
	f.BoolVar(&req.NoPrivileges, "no-privileges", false, "skip GRANT/REVOKE and ownership")
	f.StringVar(&req.RestoreType, "type", "", "full (default) or data-only (PostgreSQL)")
	f.BoolVar(&wait, "wait", false, "follow the restore to its end with a progress bar; exit 1 if it fails")
	f.StringVar(&req.TargetDir, "target-dir", "", "physical backups: the new data directory on the daemon's host (absolute; missing or empty)")
	f.BoolVar(&req.Check, "check", false, "PostgreSQL physical backups: start a throwaway server on the restored directory and count rows")
	f.StringVar(&toTime, "to-time", "", "PostgreSQL physical backups: point-in-time restore to this RFC 3339 time")
	f.StringVar(&req.TargetLSN, "to-lsn", "", "PostgreSQL physical backups: point-in-time restore to this LSN (X/Y)")
	f.BoolVar(&req.Latest, "latest", false, "PostgreSQL physical backups: restore to the end of the archived WAL")
	return cmd
}

func (r *remote) backupsDelete() *cobra.Command {
	return &cobra.Command{
		Use:   "delete BACKUP_ID",
		Short: "Delete a backup and its stored object",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.do(func(ctx context.Context, c *client.Client) error {
				if err := c.DeleteBackup(ctx, args[0]); err != nil {
					return err
				}
				return r.tell(map[string]any{"deleted": true, "id": args[0]}, "Deleted backup %s.\n", args[0])
			})
		},
	}
}
