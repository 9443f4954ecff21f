package pgphys

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/jagad/jagad/engine/dbclient"
)

// WALDir is the directory inside a restored data directory that holds the
// WAL segments a point-in-time restore fetched and verified; restore_command
// copies from it. It can be removed once recovery has finished.
const WALDir = "jagad_restore_wal"

// Target is where a point-in-time recovery stops: a time, an LSN, or
// neither (the end of the archived WAL).
type Target struct {
	Time *time.Time
	LSN  string
}

// WriteRecovery appends the recovery settings to dir's postgresql.auto.conf
// and creates recovery.signal: restore_command copies segments from
// dir/WALDir, recovery stops at target and the server is promoted.
func WriteRecovery(dir string, target Target) error {
	if err := CheckRecoveryDir(dir); err != nil {
		return err
	}
	wal := filepath.Join(dir, WALDir)
	var b strings.Builder
	b.WriteString("\n# Added by Jagad's point-in-time restore.\n")
	fmt.Fprintf(&b, "restore_command = 'cp \"%s/%%f\" \"%%p\"'\n", wal)
	switch {
	case target.Time != nil:
		fmt.Fprintf(&b, "recovery_target_time = '%s'\n", target.Time.UTC().Format("2006-01-02 15:04:05.999999+00"))
		b.WriteString("recovery_target_action = 'promote'\n")
	case target.LSN != "":
		fmt.Fprintf(&b, "recovery_target_lsn = '%s'\n", target.LSN)
		b.WriteString("recovery_target_action = 'promote'\n")
	}
	f, err := os.OpenFile(filepath.Join(dir, "postgresql.auto.conf"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("recovery settings: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		_ = f.Close()
		return fmt.Errorf("recovery settings: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("recovery settings: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "recovery.signal"), nil, 0o600); err != nil {
		return fmt.Errorf("recovery.signal: %w", err)
	}
	return nil
}

// Promoted succeeds when t accepts connections and is out of recovery.
func Promoted(ctx context.Context, t dbclient.Target) error {
	cfg, err := dbclient.PgConfig(t, t.Database)
	if err != nil {
		return err
	}
	conn, err := pgconn.ConnectConfig(ctx, &cfg.Config)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	res, err := conn.Exec(ctx, "SELECT pg_is_in_recovery()").ReadAll()
	if err != nil {
		return err
	}
	if len(res) != 1 || len(res[0].Rows) != 1 || string(res[0].Rows[0][0]) != "f" {
		return errors.New("still in recovery")
	}
	return nil
}

// CheckRecoveryDir refuses a target_dir that restore_command cannot quote.
func CheckRecoveryDir(dir string) error {
	if strings.ContainsAny(dir, `'"%\`+"\n") {
		return fmt.Errorf("target_dir must not contain quotes, backslashes, %% or newlines (it goes into restore_command)")
	}
	return nil
}
