package clustere2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/jagad/jagad/engine/cluster"
	"github.com/jagad/jagad/engine/cluster/etcdtest"
)

const (
	group     = "e2e"
	schedules = 30 // every minute
	slots     = 5  // counted, at least
	// slowName dumps a database of its own (slowDatabase) through a
	// pg_dump that sleeps slowSleep first: its run is surely in flight when
	// its member is killed.
	slowName  = "every-minute-slow"
	slowSleep = 20 * time.Second
	// leaseTTL: each member's lease guard cuts its runs off when it has not
	// confirmed its lease for TTL - max(0.5 s, TTL/10); with 2 s, keep-alives
	// delayed under make test's load cut runs off falsely; 6 s did not.
	leaseTTL = "6s"
)

// TestGroupRunsEachSlotOnce is issue 18's must-show: three jagad processes
// on one jagad.yaml with 30 schedules firing every minute, for five slots.
// A fourth member joins after the second slot: the schedules it wins move
// to it and no other. The member running the slow schedule's slot is then
// killed with SIGKILL mid-run: its lease expires in etcd, its schedules
// move to the survivors, and the slot it was running is run once more, by
// its new owner. Counted over the survivors' GET /api/backups (their own
// backups and those learned from the manifests in storage, so every member
// lists every backup of the group): every slot of every schedule has
// exactly one successful backup, made by the member rendezvous hashing
// names for that slot's members.
func TestGroupRunsEachSlotOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four daemons for about six minutes")
	}
	t.Parallel() // beside TestLeaseFailover's minutes
	pgDump := requirePostgres(t)
	srv := etcdtest.Start(t)
	cli := srv.Client()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jagad.yaml")
	writeFile(t, cfg, groupConfig(t, dir, pgDump)+srv.Section(group, leaseTTL))

	ds := map[string]*daemon{}
	for _, name := range []string{"m0", "m1", "m2"} {
		ds[name] = startDaemon(t, name, map[string]string{"JAGAD_CONFIG": cfg, "JAGAD_DATA_DIR": filepath.Join(dir, name)})
	}
	g := &groupView{t: t, cli: cli}
	three := g.waitMembers(3)
	s0 := nextSlot(time.Now())
	ids := scheduleIDs(t, ds["m0"], schedules)
	slowID := ids[slowName]

	// The fourth member joins once the second slot has finished everywhere.
	g.waitFinished(ids, "", s0.Add(time.Minute))
	ds["m3"] = startDaemon(t, "m3", map[string]string{"JAGAD_CONFIG": cfg, "JAGAD_DATA_DIR": filepath.Join(dir, "m3")})
	four := g.waitMembers(4)
	// The members learn of m3 through their etcd watch within
	// milliseconds; a join within 10 s of a slot leaves that slot's owner
	// open (either rendezvous), and the next one is sJoin.
	joined := time.Now()
	unsettled, sJoin := nextSlot(joined), nextSlot(joined.Add(10*time.Second))

	// The next slot: kill the member running the slow schedule, once every
	// other schedule's run of that slot has finished (a fast run killed
	// between storing its manifest and recording its slot would be run
	// again: at-least-once, not the property counted here).
	sKill := sJoin.Add(time.Minute)
	victim := g.waitClaim(slowID, sKill)
	g.waitFinished(ids, slowID, sKill)
	if !running(ds[victim].backups(), slowID, sKill) {
		t.Fatalf("%s holds the claim of %s's %s slot but lists no running backup of it", victim, slowName, hhmm(sKill))
	}
	ds[victim].kill()
	killed := time.Now()
	t.Logf("killed %s (kill -9) at %s, mid-run of %s's %s slot", victim, killed.UTC().Format("15:04:05.000"), slowName, hhmm(sKill))
	survivors := g.waitMembers(3)
	t.Logf("%s's lease expired in etcd %s after the kill (lease_ttl %s); members now %v",
		victim, time.Since(killed).Round(100*time.Millisecond), leaseTTL, survivors)
	if slices.Contains(survivors, victim) {
		t.Fatalf("the killed %s is still a member: %v", victim, survivors)
	}

	last := s0.Add((slots - 1) * time.Minute)
	if after := sKill.Add(time.Minute); last.Before(after) { // the test ran late
		last = after
	}
	g.waitFinished(ids, "", last)

	// Every survivor lists every successful backup of the group.
	var alive []*daemon
	for name, d := range ds {
		if name != victim {
			alive = append(alive, d)
		}
	}
	runs := waitSameView(t, alive, victim)

	// ownerAt is the member that rendezvous hashing names for a slot ("":
	// either of two).
	ownerAt := func(id string, slot time.Time) string {
		switch {
		case !slot.Before(unsettled) && slot.Before(sJoin):
			return ""
		case slot.Before(sJoin):
			return cluster.Owner(three, id)
		case slot.Before(sKill.Add(time.Minute)):
			return cluster.Owner(four, id)
		default:
			return cluster.Owner(survivors, id)
		}
	}
	moved := 0
	for _, id := range ids {
		if cluster.Owner(three, id) != cluster.Owner(four, id) {
			moved++
			if cluster.Owner(four, id) != "m3" {
				t.Errorf("schedule %s moved between the old members when m3 joined", id)
			}
		}
	}
	t.Logf("m3's join moved %d of %d schedules; the kill moved %s's share", moved, schedules, victim)

	for name, id := range ids {
		for slot := s0; !slot.After(last); slot = slot.Add(time.Minute) {
			ok := runs.success(id, slot)
			if len(ok) != 1 {
				t.Errorf("%s's %s slot: %d successful backups %v, want exactly 1", name, hhmm(slot), len(ok), ok)
				continue
			}
			want := ownerAt(id, slot)
			if id == slowID && slot.Equal(sKill) {
				want = cluster.Owner(survivors, id) // the retry of the killed run
			}
			if by := ok[0].by; want != "" && by != want {
				t.Errorf("%s's %s slot ran on %s, want %s (its owner then)", name, hhmm(slot), by, want)
			}
		}
	}
	for key, n := range runs.doubled() {
		t.Errorf("slot %s has %d successful backups", key, n)
	}
	retry := runs.own(slowID, sKill)
	if len(retry) != 1 || retry[0].Status != "success" || retry[0].CreatedAt.Before(killed) {
		t.Errorf("%s's killed %s slot was run by the survivors %d times: %v; want once, after the kill, to success",
			slowName, hhmm(sKill), len(retry), retry)
	}
	for _, d := range alive {
		t.Logf("%s: runs cut off for an unconfirmed lease %s, for a lost one %s", d.name,
			d.metric(`jagad_cluster_runs_cut_off_total{reason="unconfirmed"}`), d.metric(`jagad_cluster_runs_cut_off_total{reason="lost"}`))
	}
	t.Logf("counted slots %s to %s of %d schedules; failed runs (retried): %v", hhmm(s0), hhmm(last), schedules, runs.failed())
}

// groupConfig is the jagad.yaml (without its cluster: section) of the
// group: 29 schedules dumping the postgres database and slowName dumping
// slowDatabase's through a pg_dump that sleeps slowSleep first.
func groupConfig(t *testing.T, dir, pgDump string) string {
	slowDB := slowDatabase(t)
	slow := filepath.Join(dir, "slow-pg_dump")
	writeFile(t, slow, fmt.Sprintf("#!/bin/sh\ncase \"$*\" in *dbname=*%s*) /bin/sleep %d;; esac\nexec %s \"$@\"\n",
		slowDB, int(slowSleep.Seconds()), pgDump))
	if err := os.Chmod(slow, 0o755); err != nil {
		t.Fatal(err)
	}
	var jobs []job
	for i := range schedules {
		j := job{name: fmt.Sprintf("every-minute-%02d", i), database: "postgres"}
		if i == schedules-1 {
			j = job{name: slowName, database: slowDB}
		}
		jobs = append(jobs, j)
	}
	return jagadYAML(dir, slow, jobs)
}

// job is one every-minute schedule of a test's jagad.yaml.
type job struct{ name, database string }

// jagadYAML is a jagad.yaml without its cluster: section: one local
// storage directory under dir for every member (as a shared volume would
// be), PostgreSQL on loopback dumped by pgDump, and jobs firing every
// minute, unencrypted.
func jagadYAML(dir, pgDump string, jobs []job) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nsettings:\n  timezone: UTC\n  retention_full_default: 100\n  pg_dump_path: %s\n", pgDump)
	fmt.Fprintf(&b, "storage:\n  - name: local\n    provider_type: local\n    path: %s\n    is_default: true\n", filepath.Join(dir, "backups"))
	b.WriteString("connections:\n  - name: pg\n    db_type: postgresql\n    host: 127.0.0.1\n    port: 5432\n    username: postgres\n    ssl_mode: disable\n")
	b.WriteString("schedules:\n")
	for _, j := range jobs {
		fmt.Fprintf(&b, "  - name: %s\n    connection: pg\n    database: %s\n    cron_expr: \"* * * * *\"\n    encryption_enabled: false\n", j.name, j.database)
	}
	return b.String()
}

// slowDatabase creates the database slowName dumps. Not template1: Jagad
// holds a snapshot transaction on the dumped database for the whole dump
// (its 20 s sleep included), and a CREATE DATABASE anywhere on the server
// (the tests of the packages running beside this one) fails while
// template1 has another connection.
func slowDatabase(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("jagad_e2e_slow_%d", os.Getpid())
	psql := func(sql string) error {
		out, err := exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres",
			"-v", "ON_ERROR_STOP=1", "-c", sql).CombinedOutput()
		if err != nil {
			return fmt.Errorf("psql %q: %w: %s", sql, err, out)
		}
		return nil
	}
	if err := psql("DROP DATABASE IF EXISTS " + name); err != nil {
		t.Fatal(err)
	}
	if err := psql("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := psql("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Log(err)
		}
	})
	return name
}

// requirePostgres returns the path of pg_dump once PostgreSQL answers on
// loopback; without either the test skips, or fails under CI=true.
func requirePostgres(t *testing.T) string {
	t.Helper()
	missing := func(what string, err error) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true): %v", what, err)
		}
		t.Skipf("%s: %v", what, err)
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:5432", 2*time.Second)
	if err != nil {
		missing("PostgreSQL is not reachable on 127.0.0.1:5432", err)
	}
	c.Close()
	p, err := exec.LookPath("pg_dump")
	if err != nil {
		missing("pg_dump is not installed", err)
	}
	return p
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// nextSlot is the first minute boundary after t.
func nextSlot(t time.Time) time.Time { return t.UTC().Truncate(time.Minute).Add(time.Minute) }

func hhmm(slot time.Time) string { return slot.UTC().Format("15:04") }

// scheduleIDs maps schedule names to IDs, from GET /api/schedules, which
// must list n.
func scheduleIDs(t *testing.T, d *daemon, n int) map[string]string {
	t.Helper()
	ss, _, err := d.api.Schedules(d.ctx())
	if err != nil || len(ss) != n {
		t.Fatalf("GET /api/schedules on %s: %d schedules, %v; want %d", d.name, len(ss), err, n)
	}
	ids := map[string]string{}
	for _, s := range ss {
		ids[s.Name] = s.ID
	}
	return ids
}

// running reports whether bs has a running backup of the schedule created in slot.
func running(bs []backup, scheduleID string, slot time.Time) bool {
	for _, b := range bs {
		if b.ScheduleID == scheduleID && !b.learned() && b.Status == "running" && b.CreatedAt.UTC().Truncate(time.Minute).Equal(slot) {
			return true
		}
	}
	return false
}

// groupView reads the group's keys in etcd.
type groupView struct {
	t   *testing.T
	cli *clientv3.Client
}

func (g *groupView) get(key string, opts ...clientv3.OpOption) *clientv3.GetResponse {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := g.cli.Get(ctx, "/jagad/"+group+"/"+key, opts...)
	if err != nil {
		g.t.Fatalf("etcd get %s: %v", key, err)
	}
	return r
}

// waitMembers waits until the group has n member keys and returns their IDs.
func (g *groupView) waitMembers(n int) []string {
	g.t.Helper()
	var ids []string
	waitUntil(g.t, 2*time.Minute, fmt.Sprintf("%d members in etcd", n), func() bool {
		ids = ids[:0]
		for _, kv := range g.get("members/", clientv3.WithPrefix()).Kvs {
			ids = append(ids, string(kv.Value))
		}
		return len(ids) == n
	})
	sort.Strings(ids)
	return ids
}

// finished is each schedule's newest finished slot (the slot records).
func (g *groupView) finished() map[string]time.Time {
	out := map[string]time.Time{}
	for _, kv := range g.get("slots/", clientv3.WithPrefix()).Kvs {
		sec, err := strconv.ParseInt(string(kv.Value), 10, 64)
		if err != nil {
			g.t.Fatalf("slot record %s = %q: %v", kv.Key, kv.Value, err)
		}
		out[strings.TrimPrefix(string(kv.Key), "/jagad/"+group+"/slots/")] = time.Unix(sec, 0).UTC()
	}
	return out
}

// waitFinished waits until every schedule but except ("" none) has
// finished slot, for up to two minutes after it.
func (g *groupView) waitFinished(ids map[string]string, except string, slot time.Time) {
	g.t.Helper()
	waitUntil(g.t, time.Until(slot)+2*time.Minute, "the "+hhmm(slot)+" slot finished", func() bool {
		f := g.finished()
		for _, id := range ids {
			if id != except && f[id].Before(slot) {
				return false
			}
		}
		return true
	})
}

// waitClaim waits for the claim of a slot and returns the member holding it.
func (g *groupView) waitClaim(scheduleID string, slot time.Time) string {
	g.t.Helper()
	key := fmt.Sprintf("claims/%s/%020d", scheduleID, slot.Unix())
	var holder string
	waitUntil(g.t, time.Until(slot)+time.Minute, "the claim of "+key, func() bool {
		if kvs := g.get(key).Kvs; len(kvs) == 1 {
			holder = string(kvs[0].Value)
		}
		return holder != ""
	})
	return holder
}

// waitUntil polls cond every 200 ms, failing after limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit.Round(time.Second), what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// run is a backup and the member that made it.
type run struct {
	backup
	by string
}

func (r run) String() string { return fmt.Sprintf("%s:%s:%s", r.by, r.Status, r.ID) }

// groupRuns are the backups of the group as its survivors list them.
type groupRuns struct {
	all []run // each backup once
}

// slotOf is the cron slot a backup belongs to (its minute).
func slotOf(b backup) time.Time { return b.CreatedAt.UTC().Truncate(time.Minute) }

// waitSameView waits (up to a minute: members learn from storage every few
// seconds) until every daemon in ds lists the same successful backups, and
// returns the group's backups, each attributed to the daemon that lists it
// as its own or, when none does, to victim (learned by all from its
// manifests).
func waitSameView(t *testing.T, ds []*daemon, victim string) groupRuns {
	t.Helper()
	var lists [][]backup
	successIDs := func(bs []backup) map[string]bool {
		ids := map[string]bool{}
		for _, b := range bs {
			if b.Status == "success" {
				ids[b.ID] = true
			}
		}
		return ids
	}
	start := time.Now()
	waitUntil(t, time.Minute, "every survivor listing every successful backup", func() bool {
		lists = lists[:0]
		union := map[string]bool{}
		for _, d := range ds {
			bs := d.backups()
			lists = append(lists, bs)
			for id := range successIDs(bs) {
				union[id] = true
			}
		}
		for _, bs := range lists {
			if len(successIDs(bs)) != len(union) {
				return false
			}
		}
		return true
	})
	t.Logf("every survivor lists every successful backup of the group %s after the last slot finished", time.Since(start).Round(time.Second))
	by := map[string]string{}
	seen := map[string]backup{}
	for i, bs := range lists {
		for _, b := range bs {
			if !b.learned() {
				by[b.ID] = ds[i].name
				seen[b.ID] = b // the maker's record, not a learned copy
			} else if _, ok := seen[b.ID]; !ok {
				seen[b.ID] = b
			}
		}
	}
	var out groupRuns
	for id, b := range seen {
		r := run{backup: b, by: by[id]}
		if r.by == "" {
			r.by = victim
		}
		out.all = append(out.all, r)
	}
	return out
}

// success lists the successful backups of a schedule's slot.
func (g groupRuns) success(scheduleID string, slot time.Time) []run {
	var out []run
	for _, r := range g.all {
		if r.ScheduleID == scheduleID && r.Status == "success" && slotOf(r.backup).Equal(slot) {
			out = append(out, r)
		}
	}
	return out
}

// own lists the runs of a schedule's slot that a survivor made, whatever
// their status.
func (g groupRuns) own(scheduleID string, slot time.Time) []run {
	var out []run
	for _, r := range g.all {
		if r.ScheduleID == scheduleID && slotOf(r.backup).Equal(slot) && !r.learned() {
			out = append(out, r)
		}
	}
	return out
}

// doubled counts the successful backups of every slot that has more than one.
func (g groupRuns) doubled() map[string]int {
	n := map[string]int{}
	for _, r := range g.all {
		if r.Status == "success" {
			n[r.ScheduleName+" "+hhmm(slotOf(r.backup))]++
		}
	}
	for k, v := range n {
		if v < 2 {
			delete(n, k)
		}
	}
	return n
}

// failed lists the runs that did not succeed.
func (g groupRuns) failed() []string {
	var out []string
	for _, r := range g.all {
		if r.Status != "success" {
			out = append(out, r.ScheduleName+" "+hhmm(slotOf(r.backup))+" "+r.String())
		}
	}
	sort.Strings(out)
	return out
}
