package state

import (
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/state/fault"

	"github.com/jagad/jagad/state/logbuf"
)

// fakeDisk is a settable Options.FreeSpace that counts its calls.
type fakeDisk struct {
	free  atomic.Uint64
	calls atomic.Int64
}

func (d *fakeDisk) statfs(string) (uint64, error) {
	d.calls.Add(1)
	return d.free.Load(), nil
}

func putConn(s *Store, id string) error {
	return s.Update(func(tx *Tx) error { return Put(tx, conn(id, id, "pw")) })
}

// wantNoSpace checks that err is the guard's refusal.
func wantNoSpace(tb testing.TB, err error) {
	tb.Helper()
	if !errors.Is(err, ErrNoSpace) {
		tb.Fatalf("err = %v, want ErrNoSpace", err)
	}
	if code := fault.CodeOf(err); code != fault.CodeInsufficientStorage {
		tb.Errorf("code = %q, want %q", code, fault.CodeInsufficientStorage)
	}
	if !strings.Contains(err.Error(), "below the floor") || !strings.Contains(err.Error(), "writes are refused until space is freed") {
		tb.Errorf("message %q does not say what happened", err)
	}
}

// TestSpaceGuardRefusesWritesAndRecovers drives the guard with a fake file
// system: writes are refused below the floor and accepted again when space
// returns, reads go on, and each change of state is logged and measured.
func TestSpaceGuardRefusesWritesAndRecovers(t *testing.T) {
	const floor = 100 << 20
	disk := &fakeDisk{}
	disk.free.Store(10 * floor)
	logs := &logbuf.Buffer{}
	s, err := Open(Options{
		Dir: t.TempDir(), MasterKey: testKey(1), GCInterval: -1,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MinFreeBytes: floor, SpaceCheckInterval: time.Hour, FreeSpace: disk.statfs,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reg := prometheus.NewRegistry()
	if err := s.RegisterSpaceMetrics(reg); err != nil {
		t.Fatal(err)
	}

	if err := putConn(s, "conn_before"); err != nil {
		t.Fatalf("write with space: %v", err)
	}
	// The disk fills between two background readings: the very next
	// Update reads again and is refused (a cached reading would let it
	// through to SIGBUS).
	calls := disk.calls.Load()
	disk.free.Store(floor - 1)
	wantNoSpace(t, putConn(s, "conn_refused"))
	wantNoSpace(t, putConn(s, "conn_refused2"))
	if !strings.Contains(logs.String(), "refusing writes until space is freed") {
		t.Errorf("no log line on entering the low state:\n%s", logs)
	}
	if got := disk.calls.Load() - calls; got != 2 {
		t.Errorf("two Updates read the free space %d times, want 2", got)
	}
	mustView(t, s, func(tx *Tx) error {
		if _, err := Get[Connection](tx, "conn_before"); err != nil {
			t.Errorf("read while writes are refused: %v", err)
		}
		_, err := Get[Connection](tx, "conn_refused")
		wantNotFound(t, err)
		return nil
	})
	for name, want := range map[string]float64{
		"jagad_store_free_bytes": floor - 1, "jagad_store_free_floor_bytes": floor,
		"jagad_store_writes_refused": 1, "jagad_store_writes_refused_total": 2,
	} {
		if got := metricValue(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}

	disk.free.Store(floor)
	if err := putConn(s, "conn_after"); err != nil {
		t.Fatalf("write once space returned: %v", err)
	}
	if !strings.Contains(logs.String(), "accepting writes") {
		t.Errorf("no log line on leaving the low state:\n%s", logs)
	}
	if st := s.Space(); st.Low || st.Refused != 2 || st.Free != floor {
		t.Errorf("Space() = %+v after recovery", st)
	}
}

// metricValue returns the value of the unlabelled gauge or counter name.
func metricValue(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	tb.Fatalf("metric %s not registered", name)
	return 0
}

// TestSpaceGuardBackgroundCheck: without any write, the background checker
// notices the floor, and that space came back.
func TestSpaceGuardBackgroundCheck(t *testing.T) {
	disk := &fakeDisk{}
	disk.free.Store(1 << 30)
	s, err := Open(Options{
		Dir: t.TempDir(), MasterKey: testKey(1), GCInterval: -1,
		MinFreeBytes: 1 << 20, SpaceCheckInterval: 5 * time.Millisecond, FreeSpace: disk.statfs,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFor := func(low bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for s.Space().Low != low {
			if time.Now().After(deadline) {
				t.Fatalf("Space().Low did not become %v: %+v", low, s.Space())
			}
			time.Sleep(time.Millisecond)
		}
	}
	disk.free.Store(1 << 10)
	waitFor(true)
	disk.free.Store(1 << 30)
	waitFor(false)
}

// TestOpenBelowFloor: a store that needs no write opens below the floor
// (reads work, writes are refused); a new one, which must write, does not.
func TestOpenBelowFloor(t *testing.T) {
	const floor = 100 << 20
	existing := t.TempDir()
	s := openDir(t, existing, testKey(1))
	if err := putConn(s, "conn_old"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	disk := &fakeDisk{}
	disk.free.Store(floor / 2)
	open := func(dir string) (*Store, error) {
		return Open(Options{Dir: dir, MasterKey: testKey(1), GCInterval: -1, MinFreeBytes: floor, FreeSpace: disk.statfs})
	}

	s, err := open(existing)
	if err != nil {
		t.Fatalf("open an existing store below the floor: %v", err)
	}
	defer func() {
		disk.free.Store(1 << 40) // room to close
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	mustView(t, s, func(tx *Tx) error {
		_, err := Get[Connection](tx, "conn_old")
		return err
	})
	wantNoSpace(t, putConn(s, "conn_new"))

	_, err = open(t.TempDir())
	wantNoSpace(t, err)

	disk.free.Store(1 << 20) // below what Badger needs to open at all
	_, err = open(t.TempDir())
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "needs") {
		t.Errorf("open with no room for Badger: err = %v, want ErrNoSpace naming what it needs", err)
	}
}

// TestMinFreeBytesDefault: the default floor covers a memtable flush.
func TestMinFreeBytesDefault(t *testing.T) {
	disk := &fakeDisk{}
	disk.free.Store(1 << 40)
	s, err := Open(Options{Dir: t.TempDir(), MasterKey: testKey(1), GCInterval: -1, FreeSpace: disk.statfs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := s.Space().Floor, uint64(64<<20); got != want {
		t.Errorf("default floor = %d, want %d (2 × the 32 MiB memtable, and the minimum)", got, want)
	}
	if got := s.Space().Floor; got < 2*memTableSize {
		t.Errorf("default floor = %d, below a memtable flush (2 × %d)", got, memTableSize)
	}
	off, err := Open(Options{Dir: t.TempDir(), MasterKey: testKey(1), GCInterval: -1, MinFreeBytes: -1, FreeSpace: disk.statfs})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if st := off.Space(); st.Floor != 0 {
		t.Errorf("MinFreeBytes -1: Space() = %+v, want no guard", st)
	}
}
