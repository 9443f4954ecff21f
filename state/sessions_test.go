package state

import (
	"errors"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func TestSessionExpiryByClock(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	s, err := Open(Options{InMemory: true, MasterKey: testKey(1), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sess := Session{TokenHash: "abc", User: "admin", CreatedAt: clock.t.UTC(), ExpiresAt: clock.t.Add(time.Hour).UTC()}
	mustUpdate(t, s, func(tx *Tx) error { return tx.PutSession(sess) })

	tests := []struct {
		name    string
		advance time.Duration
		found   bool
	}{
		{"fresh", 0, true},
		{"just before expiry", time.Hour - time.Second, true},
		{"at expiry", time.Hour, false},
		{"after expiry", 2 * time.Hour, false},
	}
	for _, tt := range tests {
		clock.t = sess.CreatedAt.Add(tt.advance)
		err := s.View(func(tx *Tx) error {
			got, err := tx.Session("abc")
			if err == nil && got != sess {
				t.Errorf("%s: session = %+v, want %+v", tt.name, got, sess)
			}
			return err
		})
		if found := err == nil; found != tt.found {
			t.Errorf("%s: err = %v, want found=%v", tt.name, err, tt.found)
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", tt.name, err)
		}
	}

	// The Badger entry carries the TTL, rounded up to a whole second.
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte("session/abc"))
		if err != nil {
			return err
		}
		want := sess.ExpiresAt.Unix()
		if sess.ExpiresAt.Nanosecond() > 0 {
			want++
		}
		if item.ExpiresAt() != uint64(want) {
			t.Errorf("badger ExpiresAt = %d, want %d", item.ExpiresAt(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSessionBadgerTTL(t *testing.T) {
	// The store's clock stays in the past, so only Badger's TTL can hide it.
	past := time.Now().Add(-time.Hour)
	s, err := Open(Options{InMemory: true, MasterKey: testKey(1), Now: func() time.Time { return past }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustUpdate(t, s, func(tx *Tx) error {
		return tx.PutSession(Session{TokenHash: "ttl", ExpiresAt: time.Now().Add(time.Second)})
	})
	deadline := time.Now().Add(4 * time.Second)
	for {
		err := s.View(func(tx *Tx) error { _, err := tx.Session("ttl"); return err })
		if errors.Is(err, ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("session still readable 3 s after its TTL")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDeleteSessions(t *testing.T) {
	s := openMem(t)
	exp := time.Now().Add(time.Hour)
	mustUpdate(t, s, func(tx *Tx) error {
		for _, h := range []string{"a", "b", "c"} {
			if err := tx.PutSession(Session{TokenHash: h, ExpiresAt: exp}); err != nil {
				return err
			}
		}
		return tx.PutAdmin(AdminUser{Username: "admin"})
	})
	mustUpdate(t, s, func(tx *Tx) error { return tx.DeleteSession("a") })
	found := func(h string) bool {
		return s.View(func(tx *Tx) error { _, err := tx.Session(h); return err }) == nil
	}
	if found("a") || !found("b") || !found("c") {
		t.Fatalf("after DeleteSession(a): a=%v b=%v c=%v", found("a"), found("b"), found("c"))
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.DeleteAllSessions() })
	if found("b") || found("c") {
		t.Fatal("sessions left after DeleteAllSessions")
	}
	mustView(t, s, func(tx *Tx) error {
		_, err := tx.Admin()
		return err // other records survive
	})
	if err := s.View(func(tx *Tx) error { _, err := tx.Session("../admin"); return err }); !errors.Is(err, ErrNotFound) {
		t.Errorf("odd token hash: err = %v, want ErrNotFound", err)
	}
}
