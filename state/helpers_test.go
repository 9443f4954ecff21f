package state

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// childEnv selects a subprocess role when the test binary re-executes itself.
const childEnv = "JAGAD_STATE_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(m)
}

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// fakeClock is a settable clock for Options.Now.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func openMem(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(Options{InMemory: true, MasterKey: testKey(1)})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// openDir opens a store on dir; the caller closes it.
func openDir(tb testing.TB, dir string, key []byte) *Store {
	tb.Helper()
	s, err := Open(Options{Dir: dir, MasterKey: key})
	if err != nil {
		tb.Fatalf("open %s: %v", dir, err)
	}
	return s
}

func mustUpdate(tb testing.TB, s *Store, fn func(*Tx) error) {
	tb.Helper()
	if err := s.Update(fn); err != nil {
		tb.Fatalf("update: %v", err)
	}
}

func mustView(tb testing.TB, s *Store, fn func(*Tx) error) {
	tb.Helper()
	if err := s.View(fn); err != nil {
		tb.Fatalf("view: %v", err)
	}
}

func wantNotFound(tb testing.TB, err error) {
	tb.Helper()
	if !errors.Is(err, ErrNotFound) {
		tb.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func conn(id, name, password string) Connection {
	return Connection{
		Meta: Meta{ID: id, ManagedBy: ManagedByAPI, CreatedAt: t0, UpdatedAt: t0},
		ConnectionSpec: ConnectionSpec{
			Name: name, DBType: "postgresql", Host: "127.0.0.1", Port: 5432,
			Username: "postgres", Password: Secret(password), SSLMode: "disable",
		},
	}
}
