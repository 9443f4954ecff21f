package api

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jagad/jagad/state"
)

// SeedAdmin creates the admin account when the store has none: with pass
// (JAGAD_ADMIN_PASS) or, when pass is empty, a random password that is logged
// once at WARN. user defaults to "admin". Once an account exists the store
// wins: a password changed through PUT /api/auth/password survives restarts
// and is not reset by JAGAD_ADMIN_PASS (delete the data dir's admin record,
// i.e. start with a fresh data dir, to re-seed).
func SeedAdmin(store *state.Store, user, pass string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if user == "" {
		user = "admin"
	}
	var existing state.AdminUser
	err := store.View(func(tx *state.Tx) error {
		var err error
		existing, err = tx.Admin()
		return err
	})
	switch {
	case err == nil:
		if existing.Username != user {
			log.Info("admin account exists in the data dir; JAGAD_ADMIN_USER is ignored", "user", existing.Username)
		}
		return nil
	case !errors.Is(err, state.ErrNotFound):
		return fmt.Errorf("read admin account: %w", err)
	}
	generated := pass == ""
	if generated {
		pass = rand.Text()
	}
	hash, err := hashPassword(pass)
	if err != nil {
		return err
	}
	err = store.Update(func(tx *state.Tx) error {
		if _, err := tx.Admin(); err == nil {
			return nil // seeded concurrently
		}
		return tx.PutAdmin(state.AdminUser{Username: user, PasswordHash: hash})
	})
	if err != nil {
		return fmt.Errorf("seed admin account: %w", err)
	}
	if generated {
		// Shown once, at creation; change it with PUT /api/auth/password.
		log.Warn("JAGAD_ADMIN_PASS is not set: generated an admin password; it is shown only this once, change it with PUT /api/auth/password",
			"user", user, "password", pass)
	} else {
		log.Info("admin account created from JAGAD_ADMIN_PASS", "user", user)
	}
	return nil
}
