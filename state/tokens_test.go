package state

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewTokenSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		secret, hash, err := NewTokenSecret()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "jgd_") || !IsTokenSecret(secret) {
			t.Fatalf("secret %q has no jgd_ prefix", secret)
		}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, "jgd_"))
		if err != nil || len(raw) != 32 {
			t.Fatalf("secret body: %d bytes, %v; want 32 bytes of base64url", len(raw), err)
		}
		sum := sha256.Sum256([]byte(secret))
		if want := "sha256:" + hex.EncodeToString(sum[:]); hash != want || TokenHash(secret) != want {
			t.Fatalf("hash %q, TokenHash %q; want %q", hash, TokenHash(secret), want)
		}
		if strings.Contains(hash, secret) || seen[secret] {
			t.Fatalf("hash holds the secret, or the secret repeats")
		}
		seen[secret] = true
	}
}

func TestScopeAllows(t *testing.T) {
	tests := []struct {
		have, need Scope
		want       bool
	}{
		{ScopeRead, ScopeRead, true}, {ScopeRead, ScopeOperate, false}, {ScopeRead, ScopeAdmin, false},
		{ScopeOperate, ScopeRead, true}, {ScopeOperate, ScopeOperate, true}, {ScopeOperate, ScopeAdmin, false},
		{ScopeAdmin, ScopeRead, true}, {ScopeAdmin, ScopeOperate, true}, {ScopeAdmin, ScopeAdmin, true},
		{"", ScopeRead, false}, {"root", ScopeRead, false}, {ScopeAdmin, "", false}, {ScopeAdmin, "root", false},
	}
	for _, tt := range tests {
		if got := tt.have.Allows(tt.need); got != tt.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", tt.have, tt.need, got, tt.want)
		}
	}
}

func TestTokenByHashAndTouch(t *testing.T) {
	s := openMem(t)
	_, h1, _ := NewTokenSecret()
	_, h2, _ := NewTokenSecret()
	exp := t0.Add(time.Hour)
	a := Token{Meta: Meta{ID: NewID(KindToken), ManagedBy: ManagedByAPI, CreatedAt: t0},
		TokenSpec: TokenSpec{Name: "a", Scope: ScopeRead, Hash: h1}}
	b := Token{Meta: Meta{ID: DerivedID(KindToken, "b"), ManagedBy: ManagedByFile, CreatedAt: t0},
		TokenSpec: TokenSpec{Name: "b", Scope: ScopeAdmin, Hash: h2, ExpiresAt: &exp}}
	if !strings.HasPrefix(a.ID, "tok_") {
		t.Fatalf("token id %q: want the tok_ prefix", a.ID)
	}
	changes, cancel := s.Subscribe(KindToken)
	defer cancel()
	mustUpdate(t, s, func(tx *Tx) error {
		if err := Put(tx, a); err != nil {
			return err
		}
		return Put(tx, b)
	})
	<-changes // the puts notify
	mustView(t, s, func(tx *Tx) error {
		got, err := tx.TokenByHash(h2)
		if err != nil || got.Name != "b" || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
			t.Errorf("by hash: %+v, %v", got, err)
		}
		if _, err := tx.TokenByHash(TokenHash("jgd_unknown")); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown hash: %v, want ErrNotFound", err)
		}
		return nil
	})
	if !b.Expired(exp) || b.Expired(exp.Add(-time.Nanosecond)) || a.Expired(exp.Add(1000*time.Hour)) {
		t.Error("Expired: want true from ExpiresAt on, never without one")
	}
	used := t0.Add(5 * time.Minute)
	mustUpdate(t, s, func(tx *Tx) error { return tx.TouchToken(a.ID, used, "192.0.2.7") })
	select {
	case <-changes:
		t.Error("TouchToken woke change-feed subscribers; it changes no spec")
	default:
	}
	mustView(t, s, func(tx *Tx) error {
		got, err := Get[Token](tx, a.ID)
		if err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) || got.LastUsedFrom != "192.0.2.7" || got.Hash != h1 {
			t.Errorf("after touch: %+v, %v", got, err)
		}
		return nil
	})
	err := s.Update(func(tx *Tx) error { return tx.TouchToken("tok_gone", used, "x") })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("touch of a missing token: %v, want ErrNotFound", err)
	}
}
