package api

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jagad/jagad/state"
)

// AdminPasswordFile is the file in the data dir that receives a generated
// admin password (mode 0600). The password is never logged.
const AdminPasswordFile = "admin-password"

// AdminSeed says how SeedAdmin creates the admin account of a data dir that
// has none.
type AdminSeed struct {
	User string // default "admin"
	Pass string // JAGAD_ADMIN_PASS; empty: generate one into PasswordFile
	// PasswordFile receives the generated password when Pass is empty. With
	// neither, no account is created and SeedAdmin returns an error.
	PasswordFile string
}

// SeedAdmin creates the admin account when the store has none: with
// seed.Pass (JAGAD_ADMIN_PASS) or a random password written to
// seed.PasswordFile; the log names only the file. Once an account exists the
// store wins: a password changed through PUT /api/auth/password survives
// restarts, and a JAGAD_ADMIN_PASS that differs from it is ignored with a
// warning (`jagad admin reset-password` sets a new one).
func SeedAdmin(store *state.Store, seed AdminSeed, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if seed.User == "" {
		seed.User = "admin"
	}
	var existing state.AdminUser
	err := store.View(func(tx *state.Tx) error {
		var err error
		existing, err = tx.Admin()
		return err
	})
	switch {
	case err == nil:
		warnIgnored(existing, seed, log)
		return nil
	case !errors.Is(err, state.ErrNotFound):
		return fmt.Errorf("read admin account: %w", err)
	}
	pass := seed.Pass
	generated := pass == ""
	if generated {
		if seed.PasswordFile == "" {
			return errors.New("no admin account and no password to create it with: set JAGAD_ADMIN_PASS")
		}
		pass = rand.Text()
		// Written before the account: a crash in between leaves a file that
		// the next start replaces, never an account nobody can log in to.
		if err := WriteAdminPasswordFile(seed.PasswordFile, pass); err != nil {
			return err
		}
	}
	hash, err := hashPassword(pass)
	if err != nil {
		return err
	}
	err = store.Update(func(tx *state.Tx) error {
		if _, err := tx.Admin(); err == nil {
			return errSeededConcurrently
		}
		return tx.PutAdmin(state.AdminUser{Username: seed.User, PasswordHash: hash})
	})
	if errors.Is(err, errSeededConcurrently) {
		if generated {
			_ = os.Remove(seed.PasswordFile)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("seed admin account: %w", err)
	}
	if generated {
		log.Warn("JAGAD_ADMIN_PASS is not set: generated the admin password into a file readable only by this user; "+
			"read it, log in, change it with PUT /api/auth/password, then delete the file",
			"user", seed.User, "path", seed.PasswordFile)
	} else {
		log.Info("admin account created from JAGAD_ADMIN_PASS", "user", seed.User)
	}
	return nil
}

var errSeededConcurrently = errors.New("admin account seeded concurrently")

// warnIgnored logs the seed settings that an existing account overrides.
// JAGAD_ADMIN_PASS is reported only when it differs from the stored password,
// so a deployment that keeps setting the password it started with stays quiet.
func warnIgnored(existing state.AdminUser, seed AdminSeed, log *slog.Logger) {
	if existing.Username != seed.User {
		log.Warn("JAGAD_ADMIN_USER is ignored: the data dir already has an admin account", "user", existing.Username)
	}
	if seed.Pass == "" {
		return
	}
	if ok, err := checkPassword(existing.PasswordHash, seed.Pass); err == nil && ok {
		return
	}
	log.Warn("JAGAD_ADMIN_PASS is ignored: the data dir already has an admin account with another password "+
		"(changed through the API, or seeded earlier); the stored one stays in force. "+
		"To replace it, stop the daemon and run `jagad admin reset-password --data-dir DIR`",
		"user", existing.Username)
}

// ResetAdminPassword sets the admin password of an (offline) store and logs
// every session out, in one transaction. The user name is kept; a store with
// no account gets one named "admin".
func ResetAdminPassword(store *state.Store, pass string, now time.Time) (user string, err error) {
	if len(pass) < minPassword {
		return "", fmt.Errorf("the new password must be at least %d characters", minPassword)
	}
	hash, err := hashPassword(pass)
	if err != nil {
		return "", err
	}
	err = store.Update(func(tx *state.Tx) error {
		u, err := tx.Admin()
		switch {
		case errors.Is(err, state.ErrNotFound):
			u = state.AdminUser{Username: "admin"}
		case err != nil:
			return err
		}
		user = u.Username
		u.PasswordHash, u.ChangedAt = hash, now
		if err := tx.PutAdmin(u); err != nil {
			return err
		}
		return tx.DeleteAllSessions()
	})
	if err != nil {
		return "", fmt.Errorf("reset admin password: %w", err)
	}
	return user, nil
}

// WriteAdminPasswordFile writes pass to path with mode 0600. It writes a new
// file (O_EXCL, beside path), syncs it and renames it over path, so it never
// writes through an existing file or symlink and never leaves half a
// password behind.
func WriteAdminPasswordFile(path, pass string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*") // O_EXCL, 0600
	if err != nil {
		return fmt.Errorf("admin password file: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("admin password file %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.WriteString(pass + "\n"); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("admin password file %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable; best effort
		d.Close()
	}
	return nil
}
