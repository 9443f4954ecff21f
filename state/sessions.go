package state

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// sessionPrefix starts the key of every session: "session/<token hash>".
const sessionPrefix = string(KindSession) + "/"

// Session returns a session by token hash; ErrNotFound when missing or expired.
// Expiry is checked against the store's clock; Badger's TTL also drops it.
func (tx *Tx) Session(tokenHash string) (Session, error) {
	if err := tx.check(false); err != nil {
		return Session{}, err
	}
	if err := checkID("session", tokenHash); err != nil {
		return Session{}, fmt.Errorf("%w: %w", err, ErrNotFound)
	}
	var s Session
	if err := tx.getValue(sessionPrefix+tokenHash, &s); err != nil {
		return Session{}, err
	}
	if !s.ExpiresAt.IsZero() && !tx.s.now().Before(s.ExpiresAt) {
		return Session{}, fmt.Errorf("session expired: %w", ErrNotFound)
	}
	return s, nil
}

// PutSession stores a session (with a Badger TTL at ExpiresAt).
func (tx *Tx) PutSession(s Session) error {
	if err := tx.check(true); err != nil {
		return err
	}
	if err := checkID("put session", s.TokenHash); err != nil {
		return err
	}
	ttl := func(e *badger.Entry) {
		if s.ExpiresAt.IsZero() || s.ExpiresAt.Unix() <= 0 {
			return
		}
		exp := s.ExpiresAt.Unix() // Badger's TTL has whole seconds: round up
		if s.ExpiresAt.Nanosecond() > 0 {
			exp++
		}
		e.ExpiresAt = uint64(exp)
	}
	if err := tx.putValue(sessionPrefix+s.TokenHash, s, ttl); err != nil {
		return err
	}
	tx.touch(KindSession)
	return nil
}

// DeleteSession removes one session. Deleting a missing session is not an error.
func (tx *Tx) DeleteSession(tokenHash string) error {
	if err := tx.check(true); err != nil {
		return err
	}
	if err := checkID("delete session", tokenHash); err != nil {
		return err
	}
	if err := tx.txn.Delete([]byte(sessionPrefix + tokenHash)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	tx.touch(KindSession)
	return nil
}

// DeleteAllSessions removes every session (password change).
func (tx *Tx) DeleteAllSessions() error {
	if err := tx.check(true); err != nil {
		return err
	}
	for _, k := range tx.scanKeys(sessionPrefix) {
		if err := tx.txn.Delete([]byte(k)); err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
	}
	tx.touch(KindSession)
	return nil
}
