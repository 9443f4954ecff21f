package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jagad/jagad/api"
	"github.com/jagad/jagad/state"
)

const adminLong = `Offline administration of a data dir; run it with the daemon stopped.

Exit status: 0 success, 1 failure, 2 usage error.`

const resetPasswordLong = `Sets a new admin password in the data dir and logs every session out. Stop
the daemon first: while jagad serve runs, its data dir is locked and this
command fails saying so.

The new password is read from standard input (the first line, at least 6
characters), for example:

    pass show jagad/admin | jagad admin reset-password --data-dir /var/lib/jagad

With --generate a random password is written to DIR/admin-password (mode
0600) instead, and only that path is printed. The password is never taken
from a flag, which would show it in the process list. The master key comes
from JAGAD_MASTER_KEY, else DIR/master.key, as for the daemon.

Exit status: 0 success, 1 failure, 2 usage error.`

// maxPasswordLine bounds the line read from standard input.
const maxPasswordLine = 4096

// adminCommand is `jagad admin reset-password`.
func (a *app) adminCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Offline administration of a data dir (daemon stopped)",
		Long:  adminLong,
	}
	var dataDir string
	var generate bool
	reset := &cobra.Command{
		Use:   "reset-password --data-dir DIR [--generate]",
		Short: "Set the admin password (read from stdin) and log every session out",
		Long:  resetPasswordLong,
		Args:  noArgs("the password is read from standard input, never from the command line"),
		RunE: func(*cobra.Command, []string) error {
			msg, err := resetPassword(dataDir, generate, a.stdin, a.stderr, a.env)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, msg)
			return nil
		},
	}
	reset.Flags().StringVar(&dataDir, "data-dir", envOr(a.env, "JAGAD_DATA_DIR", "/var/lib/jagad"), "the daemon's data `DIR` (JAGAD_DATA_DIR)")
	reset.Flags().BoolVar(&generate, "generate", false,
		"generate a random password into DIR/"+api.AdminPasswordFile+" instead of reading standard input")
	cmd.AddCommand(reset)
	return cmd
}

// resetPassword opens the data dir (failing when a daemon holds it), sets
// the new password and logs every session out. It returns what to tell the
// operator.
func resetPassword(dataDir string, generate bool, stdin io.Reader, stderr io.Writer, env func(string) (string, bool)) (string, error) {
	if fi, err := os.Stat(filepath.Join(dataDir, "badger")); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("%s is not a jagad data dir (it has no badger/ directory)", dataDir)
	}
	key, err := existingMasterKey(dataDir, envOr(env, "JAGAD_MASTER_KEY", ""))
	if err != nil {
		return "", err
	}
	var pass string
	if !generate {
		// Read before opening the store: a prompt must not hold the lock.
		if pass, err = readPassword(stdin, stderr); err != nil {
			return "", err
		}
	}
	store, err := state.Open(state.Options{Dir: dataDir, MasterKey: key, Logger: slog.New(slog.DiscardHandler), GCInterval: -1})
	if errors.Is(err, state.ErrLocked) {
		return "", fmt.Errorf("%s is in use by a running jagad: stop the daemon, then run this again (%w)", dataDir, err)
	}
	if err != nil {
		return "", fmt.Errorf("open data dir %s: %w", dataDir, err)
	}
	defer store.Close()
	pwFile := filepath.Join(dataDir, api.AdminPasswordFile)
	if generate {
		pass = rand.Text()
		if err := api.WriteAdminPasswordFile(pwFile, pass); err != nil {
			return "", err
		}
	}
	user, err := api.ResetAdminPassword(store, pass, time.Now())
	if err != nil {
		if generate {
			os.Remove(pwFile)
		}
		return "", err
	}
	if err := store.Close(); err != nil {
		return "", fmt.Errorf("close data dir: %w", err)
	}
	msg := fmt.Sprintf("admin password of %q reset; every session is logged out", user)
	if generate {
		msg += fmt.Sprintf("; the new password is in %s (mode 0600)", pwFile)
	}
	return msg, nil
}

// existingMasterKey is the daemon's master key: JAGAD_MASTER_KEY, else
// DIR/master.key. Unlike the daemon it never generates one.
func existingMasterKey(dataDir, fromEnv string) ([]byte, error) {
	if fromEnv == "" {
		if _, err := os.Stat(filepath.Join(dataDir, state.MasterKeyFile)); err != nil {
			return nil, fmt.Errorf("no master key: %s has no %s; set JAGAD_MASTER_KEY as the daemon has it", dataDir, state.MasterKeyFile)
		}
	}
	key, _, err := state.LoadOrCreateMasterKey(dataDir, fromEnv)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return key, nil
}

// readPassword reads the first line of stdin. At a terminal it prompts on
// stderr (the input is echoed: jagad has no terminal library; pipe the
// password in or use --generate to avoid that).
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if stdin == nil {
		return "", errors.New("no standard input: pipe the new password in, or use --generate")
	}
	if f, ok := stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(stderr, "New admin password (shown as you type; or pipe it in, or use --generate): ")
		}
	}
	line, err := bufio.NewReaderSize(io.LimitReader(stdin, maxPasswordLine+1), maxPasswordLine+1).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the new password from standard input: %w", err)
	}
	pass := strings.TrimRight(line, "\r\n")
	if len(pass) >= maxPasswordLine {
		return "", fmt.Errorf("the password is longer than %d bytes", maxPasswordLine-1)
	}
	if pass == "" {
		return "", errors.New("no password on standard input: pipe the new password in, or use --generate")
	}
	return pass, nil
}
