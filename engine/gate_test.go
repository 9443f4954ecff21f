package engine

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/schedule"
	"github.com/jagad/jagad/state"
)

// recordingGate is a schedule.Gate that allows slots while allow is set,
// and records the slots asked for and the backups stored at each release.
type recordingGate struct {
	mu        sync.Mutex
	allow     bool
	asked     []time.Time
	atRelease [][]state.Backup
	h         *harness
	sched     string
	lost      chan struct{} // handed out with every claim (nil: never lost)
}

func (g *recordingGate) Claim(scheduleID string, slot time.Time) (schedule.Claim, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked = append(g.asked, slot)
	if !g.allow {
		return schedule.Claim{}, false
	}
	return schedule.Claim{Release: func() {
		bs := g.h.schedBackups(scheduleID)
		g.mu.Lock()
		defer g.mu.Unlock()
		g.atRelease = append(g.atRelease, bs)
	}, Lost: g.lost}, true
}

func (g *recordingGate) snapshot() (int, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.asked), len(g.atRelease)
}

func (h *harness) schedBackups(scheduleID string) []state.Backup {
	var bs []state.Backup
	_ = h.store.View(func(tx *state.Tx) error {
		var err error
		bs, err = tx.ListBackups(state.BackupQuery{ScheduleID: scheduleID, Limit: 100})
		return err
	})
	return bs
}

// TestScheduleGateClaimsEachSlot: with a gate (cluster mode) a due slot
// whose claim is refused does not start; an allowed one runs, and its
// claim is released once, after the backup's outcome is recorded.
func TestScheduleGateClaimsEachSlot(t *testing.T) {
	g := &recordingGate{}
	srv := dbtest.Postgres(t)
	clk := clockwork.NewFakeClockAt(utc("2026-03-02T10:00:00Z"))
	h := newHarness(t, withOptions(func(o *Options) { o.Clock, o.Now, o.Gate = clk, clk.Now, g }))
	h.setSetting("timezone", "UTC")
	env := &schedEnv{harness: h, clk: clk, srv: srv}
	env.prov = h.addLocalProvider("local")
	name := srv.CreateDB(t, "gated")
	srv.Exec(t, name, "CREATE TABLE t (id int primary key); INSERT INTO t SELECT generate_series(1, 10);")
	env.conn = h.addConnection("pg", srv, "")
	env.db = h.addDatabase(env.conn, name)
	g.h = h
	sc := env.addSchedule("gated", "*/5 * * * *", nil)
	env.waitNext(sc.ID, utc("2026-03-02T10:05:00Z"))

	env.clk.Advance(5 * time.Minute)
	waitFor(t, 10*time.Second, func() bool { asked, _ := g.snapshot(); return asked == 1 })
	env.waitNext(sc.ID, utc("2026-03-02T10:10:00Z"))
	if bs := env.schedBackups(sc.ID); len(bs) != 0 {
		t.Fatalf("a refused slot made %d backups", len(bs))
	}

	g.mu.Lock()
	g.allow = true
	g.mu.Unlock()
	env.clk.Advance(5 * time.Minute)
	waitFor(t, 60*time.Second, func() bool { _, released := g.snapshot(); return released == 1 })
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.asked) != 2 || !g.asked[1].Equal(utc("2026-03-02T10:10:00Z")) {
		t.Fatalf("gate asked for %v, want 10:05 then 10:10", g.asked)
	}
	at := g.atRelease[0]
	if len(at) != 1 || at[0].Status != state.StatusSuccess {
		t.Fatalf("backups when the claim was released: %+v, want one finished successfully", at)
	}
}

// TestScheduleRunCutOffWhenClaimLost: a run whose claim is lost while it
// dumps (cluster mode: the member's lease expired or was revoked) is cut
// off at once: the dump is stopped, the backup ends failed saying "cluster
// lease lost", and the claim is released after that outcome.
func TestScheduleRunCutOffWhenClaimLost(t *testing.T) {
	g := &recordingGate{allow: true, lost: make(chan struct{})}
	srv := dbtest.Postgres(t)
	clk := clockwork.NewFakeClockAt(utc("2026-03-02T10:00:00Z"))
	h := newHarness(t, withOptions(func(o *Options) { o.Clock, o.Now, o.Gate = clk, clk.Now, g }))
	h.setSetting("timezone", "UTC")
	h.setSetting("pg_dump_path", slowDumpTool(t, "120"))
	env := &schedEnv{harness: h, clk: clk, srv: srv}
	env.prov = h.addLocalProvider("local")
	name := srv.CreateDB(t, "cutoff")
	srv.Exec(t, name, "CREATE TABLE t (id int primary key); INSERT INTO t SELECT generate_series(1, 10);")
	env.conn = h.addConnection("pg", srv, "")
	env.db = h.addDatabase(env.conn, name)
	g.h = h
	sc := env.addSchedule("cutoff", "*/5 * * * *", nil)
	env.waitNext(sc.ID, utc("2026-03-02T10:05:00Z"))

	env.clk.Advance(5 * time.Minute)
	waitFor(t, 10*time.Second, func() bool {
		bs := env.schedBackups(sc.ID)
		return len(bs) == 1 && bs[0].Status == state.StatusRunning
	})
	if _, released := g.snapshot(); released != 0 {
		t.Fatal("the claim was released while the run was going")
	}
	close(g.lost)
	waitFor(t, 30*time.Second, func() bool { _, released := g.snapshot(); return released == 1 })
	g.mu.Lock()
	at := g.atRelease[0]
	g.mu.Unlock()
	if len(at) != 1 || at[0].Status != state.StatusFailed || !strings.Contains(at[0].LogOutput, "cluster lease lost") {
		t.Fatalf("backups when the lost claim was released: %+v, want one failed with \"cluster lease lost\"", at)
	}
	assertFailed(t, h, h.storeFor(env.prov), at[0], "cluster lease lost")
	if !Interrupted(at[0]) {
		t.Error("a run cut off with its claim is not Interrupted: a cluster's catch-up would not run its slot again")
	}
}
