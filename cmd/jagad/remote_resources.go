package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jagad/jagad/api"
	"github.com/jagad/jagad/api/client"
)

// findSchedule finds a schedule by ID or name.
func (r *remote) findSchedule(ctx context.Context, c *client.Client, key string) (client.Schedule, error) {
	return pick(ctx, c, (*client.Client).Schedules, key, func(s client.Schedule) (string, string) { return s.ID, s.Name },
		fmt.Errorf("schedule %q %w (see jagad schedules list)", key, errNotFound))
}

// findConnection finds a connection by ID or name.
func (r *remote) findConnection(ctx context.Context, c *client.Client, key string) (client.Connection, error) {
	return pick(ctx, c, (*client.Client).Connections, key, func(cn client.Connection) (string, string) { return cn.ID, cn.Name },
		fmt.Errorf("connection %q %w (see jagad connections list)", key, errNotFound))
}

// findDatabase finds a database of cn by ID or name.
func (r *remote) findDatabase(ctx context.Context, c *client.Client, cn client.Connection, key string) (client.Database, error) {
	dbs := func(c *client.Client, ctx context.Context) ([]client.Database, json.RawMessage, error) {
		return c.Databases(ctx, cn.ID)
	}
	return pick(ctx, c, dbs, key, func(d client.Database) (string, string) { return d.ID, d.DBName },
		fmt.Errorf("database %q of connection %q %w (run jagad connections discover %s)", key, cn.Name, errNotFound, cn.Name))
}

func (r *remote) schedulesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "schedules", Short: "List, show, run, enable and disable schedules", Args: cobra.NoArgs}
	list := listCmd(r, "List schedules", "schedules", (*client.Client).Schedules,
		func(_ context.Context, _ *client.Client, all []client.Schedule) error {
			now := r.clock()
			return writeTable(r.stdout, all, []string{"ID", "NAME", "CRON", "ENABLED", "LAST", "LAST RUN", "NEXT RUN", "MANAGED BY"},
				func(s client.Schedule) []string {
					return []string{s.ID, s.Name, s.CronExpr, yesNo(s.Enabled), s.LastStatus, ago(s.LastRunAt, now), ago(s.NextRunAt, now), s.ManagedBy}
				})
		})
	show := onOne(r, "show SCHEDULE", "Show a schedule (name or ID)", r.findSchedule,
		func(ctx context.Context, c *client.Client, s client.Schedule) error {
			s, raw, err := c.Schedule(ctx, s.ID)
			if err != nil {
				return err
			}
			return r.reply(raw, func() error { return r.showSchedule(s) })
		})
	run := onOne(r, "run SCHEDULE", "Trigger a schedule now (see also: jagad backups run SCHEDULE --wait)", r.findSchedule,
		func(ctx context.Context, c *client.Client, s client.Schedule) error {
			raw, err := c.RunSchedule(ctx, s.ID)
			if err != nil {
				return err
			}
			return r.say(raw, "Schedule %s triggered. See its backups with: jagad backups list --schedule %s\n", s.Name, s.Name)
		})
	cmd.AddCommand(list, show, run, r.scheduleToggle(true), r.scheduleToggle(false))
	return cmd
}

func (r *remote) scheduleToggle(on bool) *cobra.Command {
	verb, done := "disable", "disabled"
	if on {
		verb, done = "enable", "enabled"
	}
	short := strings.ToUpper(verb[:1]) + verb[1:] + " a schedule (on a jagad.yaml schedule: a runtime override until the file's value is set again)"
	return onOne(r, verb+" SCHEDULE", short, r.findSchedule,
		func(ctx context.Context, c *client.Client, s client.Schedule) error {
			s, raw, err := c.SetScheduleEnabled(ctx, s.ID, on)
			if err != nil {
				return err
			}
			return r.say(raw, "Schedule %s %s.\n", s.Name, done)
		})
}

func (r *remote) showSchedule(s client.Schedule) error {
	now := r.clock()
	return fields(r.stdout, "ID", s.ID, "Name", s.Name, "Cron", s.CronExpr, "Type", s.BackupType,
		"Enabled", yesNo(s.Enabled), "Encryption", yesNo(s.EncryptionEnabled), "Verify", yesNo(s.VerifyEnabled),
		"Connection", s.ConnectionID, "Database", s.DatabaseID, "Storage", s.StorageProviderID,
		"Last status", s.LastStatus, "Last run", stamp(s.LastRunAt, now), "Next run", stamp(s.NextRunAt, now),
		"Managed by", s.ManagedBy)
}

func (r *remote) restoresCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "restores", Short: "List and show restores", Args: cobra.NoArgs}
	list := listCmd(r, "List restores, newest first", "restores", (*client.Client).Restores,
		func(ctx context.Context, c *client.Client, all []client.Restore) error {
			now := r.clock()
			names := r.connectionNames(ctx, c)
			return writeTable(r.stdout, all, []string{"ID", "BACKUP", "TARGET", "TYPE", "STATUS", "DURATION", "CREATED"},
				func(x client.Restore) []string {
					return []string{x.ID, x.BackupID, target(x, names), x.RestoreType, x.Status, duration(x.DurationMs), ago(&x.CreatedAt, now)}
				})
		})
	show := &cobra.Command{
		Use:   "show RESTORE_ID",
		Short: "Show a restore",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.do(func(ctx context.Context, c *client.Client) error {
				x, raw, err := c.Restore(ctx, args[0])
				if err != nil {
					return err
				}
				return r.reply(raw, func() error { return r.showRestore(ctx, c, x) })
			})
		},
	}
	cmd.AddCommand(list, show)
	return cmd
}

func (r *remote) showRestore(ctx context.Context, c *client.Client, x client.Restore) error {
	now := r.clock()
	kv := []string{"ID", x.ID, "Backup", x.BackupID, "Target", target(x, r.connectionNames(ctx, c)), "Type", x.RestoreType,
		"Drop existing", yesNo(x.DropExisting), "Status", x.Status, "Started", stamp(x.StartedAt, now),
		"Completed", stamp(x.CompletedAt, now), "Duration", duration(x.DurationMs)}
	if x.Progress != nil {
		kv = append(kv, "Progress", progressLine(x.Progress))
	}
	if x.Status == "failed" && x.LogOutput != "" {
		kv = append(kv, "Error", client.FailureOf(x.LogOutput))
	}
	return fields(r.stdout, kv...)
}

// target names a restore's target "connection/database", by the
// connection's name when it is known.
func target(x client.Restore, names map[string]string) string {
	conn := x.TargetConnection
	if n, ok := names[conn]; ok {
		conn = n
	}
	return conn + "/" + x.TargetDatabase
}

// connectionNames maps connection IDs to names (empty when they cannot be
// listed: the table then shows IDs).
func (r *remote) connectionNames(ctx context.Context, c *client.Client) map[string]string {
	all, _, err := c.Connections(ctx)
	names := map[string]string{}
	if err != nil {
		return names
	}
	for _, cn := range all {
		names[cn.ID] = cn.Name
	}
	return names
}

func (r *remote) connectionsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "connections", Short: "List, test and discover database connections", Args: cobra.NoArgs}
	list := listCmd(r, "List connections", "connections", (*client.Client).Connections,
		func(_ context.Context, _ *client.Client, all []client.Connection) error {
			return writeTable(r.stdout, all, []string{"ID", "NAME", "TYPE", "ADDRESS", "USER", "SSL", "MANAGED BY"},
				func(x client.Connection) []string {
					return []string{x.ID, x.Name, x.DBType, x.Host + ":" + strconv.Itoa(x.Port), x.Username, x.SSLMode, x.ManagedBy}
				})
		})
	test := onOne(r, "test CONNECTION", "Check that the daemon can reach a connection's server (name or ID); exit 1 if not", r.findConnection,
		func(ctx context.Context, c *client.Client, cn client.Connection) error {
			res, raw, err := c.TestConnection(ctx, cn.ID)
			if err != nil {
				return err
			}
			return r.ended(raw, res.Success, fmt.Errorf("connection %s: %s", cn.Name, res.Error), "Connection %s: OK\n", cn.Name)
		})
	discover := onOne(r, "discover CONNECTION", "List the databases on a connection's server and record them (name or ID)", r.findConnection,
		func(ctx context.Context, c *client.Client, cn client.Connection) error {
			dbs, raw, err := c.DiscoverDatabases(ctx, cn.ID)
			if err != nil {
				return err
			}
			return r.reply(raw, func() error {
				return writeTable(r.stdout, dbs, []string{"ID", "DATABASE", "SIZE", "SELECTED", "MANAGED BY"},
					func(d client.Database) []string {
						return []string{d.ID, d.DBName, sizeOr(d.SizeBytes), yesNo(d.IsSelected), d.ManagedBy}
					})
			})
		})
	cmd.AddCommand(list, test, discover)
	return cmd
}

func (r *remote) configCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "The daemon's jagad.yaml: status, plan, reload, export", Args: cobra.NoArgs}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the config file in force and the last reload",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.do(func(ctx context.Context, c *client.Client) error {
				s, raw, err := c.ConfigStatus(ctx)
				if err != nil {
					return err
				}
				return r.reply(raw, func() error { return r.showConfigStatus(s) })
			})
		},
	}
	var file string
	plan := &cobra.Command{
		Use:   "plan -f FILE|-",
		Short: "Show what applying a jagad.yaml would change on the daemon (nothing is applied)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("-f FILE is required (- reads stdin)")
			}
			var doc []byte
			var err error
			if file == "-" {
				doc, err = io.ReadAll(r.stdin)
			} else {
				doc, err = os.ReadFile(file)
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", file, err)
			}
			return r.do(func(ctx context.Context, c *client.Client) error {
				p, raw, err := c.PlanDoc(ctx, doc)
				if err != nil {
					return err
				}
				return r.reply(raw, func() error { return r.showPlan(p) })
			})
		},
	}
	plan.Flags().StringVarP(&file, "file", "f", "", "the jagad.yaml to plan (- reads stdin)")
	var confirm bool
	reload := &cobra.Command{
		Use:   "reload",
		Short: "Make the daemon re-read its config file now",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.do(func(ctx context.Context, c *client.Client) error {
				p, raw, err := c.Reload(ctx, confirm)
				if err != nil {
					return err
				}
				return r.reply(raw, func() error { return r.showPlan(p) })
			})
		},
	}
	reload.Flags().BoolVar(&confirm, "confirm-prune", false, "apply a plan the prune guard holds (it deletes many resources)")
	var out string
	export := &cobra.Command{
		Use:   "export [-o FILE]",
		Short: "Print the API-made resources as a jagad.yaml (secrets as ${VAR} placeholders)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.do(func(ctx context.Context, c *client.Client) error {
				doc, err := c.Export(ctx)
				if err != nil {
					return err
				}
				if r.json && (out == "" || out == "-") {
					return r.encodeJSON(map[string]string{"yaml": string(doc)})
				}
				if out == "" || out == "-" {
					_, err = r.stdout.Write(doc)
					return err
				}
				return os.WriteFile(out, doc, 0o600)
			})
		},
	}
	export.Flags().StringVarP(&out, "output", "o", "", "write to FILE instead of stdout")
	cmd.AddCommand(status, plan, reload, export)
	return cmd
}

func (r *remote) showConfigStatus(s client.ConfigStatus) error {
	now := r.clock()
	var ov []string
	for _, o := range s.Overrides {
		ov = append(ov, o.Kind+" "+o.Name)
	}
	return fields(r.stdout, "File", s.Path, "Generation", strconv.FormatInt(s.Generation, 10),
		"Digest", s.FileDigest, "Git commit", s.GitCommit, "Healthy", yesNo(s.Healthy),
		"Applied", stamp(s.LastAppliedAt, now), "Last reload", stamp(s.LastReloadAt, now),
		"Summary", s.Summary, "Held", s.Held, "Last error", s.LastError, "Overrides", strings.Join(ov, ", "))
}

// showPlan prints a plan's changes, one a line, and its summary.
func (r *remote) showPlan(p api.PlanView) error {
	signs := map[string]string{"create": "+", "update": "~", "prune": "-", "delete": "-", "adopt": "="}
	for _, it := range p.Items {
		sign, ok := signs[string(it.Action)]
		if !ok {
			continue // unchanged entries are not changes
		}
		line := fmt.Sprintf("%s %s %s %q", sign, it.Action, it.Kind, it.Name)
		if len(it.Fields) > 0 {
			line += " (fields: " + strings.Join(it.Fields, ", ") + ")"
		}
		fmt.Fprintln(r.stdout, line)
	}
	if p.Held != "" {
		fmt.Fprintf(r.stdout, "! held: %s (apply with: jagad config reload --confirm-prune)\n", p.Held)
	}
	switch {
	case p.Summary != "":
		fmt.Fprintln(r.stdout, p.Summary)
	case p.Changes == 0:
		fmt.Fprintln(r.stdout, "No changes.")
	default:
		fmt.Fprintf(r.stdout, "%d change(s).\n", p.Changes)
	}
	return nil
}
