package cluster

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/jagad/jagad/engine/cluster/etcdtest"
)

// ownedBy is a schedule ID that owner wins among members.
func ownedBy(owner string, members ...string) string {
	for _, id := range scheduleIDs(1000) {
		if Owner(members, id) == owner {
			return id
		}
	}
	panic("no schedule for " + owner)
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestLeaseRevokedCutsOffTheRun: a member whose lease is revoked mid-run
// sees its claim lost (the run must stop), its release does not record the
// slot as finished, and the slot is then claimed once by another member.
func TestLeaseRevokedCutsOffTheRun(t *testing.T) {
	srv := etcdtest.Start(t)
	x := ownedBy("a", "a", "b")
	a, _ := join(t, srv, "a", 5*time.Second, []string{x})
	b, _ := join(t, srv, "b", 5*time.Second, []string{x})
	waitFor(t, "both in the group", seeMembers([]*Member{a, b}, "a", "b"))
	slot := time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)
	c, ok := a.ClaimSlot(x, slot)
	if !ok {
		t.Fatal("the owner could not claim its slot")
	}
	if closed(c.Lost) {
		t.Fatal("a fresh claim is already lost")
	}
	cli := srv.Client()
	got, err := cli.Get(t.Context(), "/jagad/test/members/a")
	if err != nil || len(got.Kvs) != 1 {
		t.Fatalf("member key of a: %v %v", got, err)
	}
	if _, err := cli.Revoke(t.Context(), clientv3.LeaseID(got.Kvs[0].Lease)); err != nil {
		t.Fatalf("revoke a's lease: %v", err)
	}
	waitFor(t, "a's claim lost", func() bool { return closed(c.Lost) })
	c.Release() // the cut-off run ends
	checkCutOff(t, a, map[string]float64{CutLost: 1, CutUnconfirmed: 0})
	last, err := b.LastFinished(t.Context(), x)
	if err != nil || !last.Before(slot) {
		t.Fatalf("finished through %v (%v) after the cut-off run, want before %v: a lost run is not finished", last, err, slot)
	}
	rel, err := b.TryClaim(x, slot)
	if err != nil {
		t.Fatalf("the cut-off slot cannot be claimed by another member: %v", err)
	}
	rel()
	if _, err := a.TryClaim(x, slot); err == nil || !strings.Contains(err.Error(), ReasonFinished) && !strings.Contains(err.Error(), ReasonNotInGroup) {
		t.Fatalf("a second claim of the slot: %v, want refused", err)
	}
	waitFor(t, "a back in the group", a.InGroup)
	if _, err := a.TryClaim(x, slot); err == nil || !strings.Contains(err.Error(), ReasonFinished) {
		t.Fatalf("a's claim of the slot after rejoining: %v, want refused as finished", err)
	}
}

// TestLeaseGuardCutsOffBeforeExpiry: a member cut from etcd (a proxy
// between it and etcd stops) while the others still reach it: its claim is
// lost before its lease can expire in etcd, so by the time another member
// sees it gone and claims the slot, its run has already been told to stop.
// The slot is claimed once, by the other member.
func TestLeaseGuardCutsOffBeforeExpiry(t *testing.T) {
	srv := etcdtest.Start(t)
	px := newProxy(t, strings.TrimPrefix(srv.Endpoint(), "http://"))
	x := ownedBy("a", "a", "b")
	ttl := 3 * time.Second
	a, err := Join(Options{Endpoints: []string{"http://" + px.addr()}, Group: "test", ID: "a", LeaseTTL: ttl,
		Schedules: func() []string { return []string{x} }, CallTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _ := join(t, srv, "b", ttl, []string{x})
	waitFor(t, "both in the group", seeMembers([]*Member{a, b}, "a", "b"))
	slot := time.Date(2026, 12, 6, 13, 5, 0, 0, time.UTC)
	c, ok := a.ClaimSlot(x, slot)
	if !ok {
		t.Fatal("the owner could not claim its slot")
	}
	px.cut()
	// b takes the slot as soon as it may: when a's key is gone from etcd.
	var lostWhenClaimed bool
	waitFor(t, "b claims the slot after a's lease expired", func() bool {
		if b.Owner(x) != "b" {
			return false
		}
		rel, err := b.TryClaim(x, slot)
		if err != nil {
			return false
		}
		lostWhenClaimed = closed(c.Lost)
		rel()
		return true
	})
	if !lostWhenClaimed {
		t.Fatal("another member claimed the slot while the cut-off member's run had not been told to stop")
	}
	c.Release()
	checkCutOff(t, a, map[string]float64{CutUnconfirmed: 1, CutLost: 0})
	if _, err := b.TryClaim(x, slot); err == nil || !strings.Contains(err.Error(), ReasonFinished) {
		t.Fatalf("a second claim of the slot: %v, want refused as finished", err)
	}
}

// checkCutOff compares m's jagad_cluster_runs_cut_off_total by reason with want.
func checkCutOff(t *testing.T, m *Member, want map[string]float64) {
	t.Helper()
	for reason, n := range want {
		if got := testutil.ToFloat64(m.met.cutOff.WithLabelValues(reason)); got != n {
			t.Errorf("jagad_cluster_runs_cut_off_total{reason=%q} = %g, want %g", reason, got, n)
		}
	}
}

// proxy forwards TCP connections to target until cut.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	isCut  bool
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(p.cut)
	go p.serve()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		if p.isCut {
			p.mu.Unlock()
			in.Close()
			out.Close()
			return
		}
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() { _, _ = io.Copy(in, out); in.Close() }()
	}
}

// cut closes the listener and every connection: the member behind it can
// no longer reach etcd.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isCut {
		return
	}
	p.isCut = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
}

// TestCatchUpEveryCutOffSlot: the catch-up rule on a real etcd. A new
// owner's pass reports the slot its predecessor was running when it died
// (even when newer slots were due meanwhile: the scheduler runs it first);
// once that slot finishes, the next pass (kicked by the finish) reports no
// cut-off slot and the newest finished one, so the newest due slot after it
// runs; a slot the predecessor finished is never claimable again; a cut-off
// slot made moot by a newer finished one is not reported, and its mark is
// dropped.
func TestCatchUpEveryCutOffSlot(t *testing.T) {
	srv := etcdtest.Start(t)
	x := ownedBy("a", "a", "b")
	a, _ := join(t, srv, "a", 2*time.Second, []string{x})
	b, _ := join(t, srv, "b", 2*time.Second, []string{x})
	waitFor(t, "both in the group", seeMembers([]*Member{a, b}, "a", "b"))
	s0 := time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC)
	s1, s2, s3 := s0.Add(time.Minute), s0.Add(2*time.Minute), s0.Add(3*time.Minute)
	rel, ok := a.Claim(x, s0)
	if !ok {
		t.Fatal("the owner could not claim s0")
	}
	rel()
	if _, ok := a.Claim(x, s1); !ok {
		t.Fatal("the owner could not claim s1")
	}
	type call struct{ finished, cut time.Time }
	calls := make(chan call, 100)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go b.Follow(ctx, time.Second, func(id string, finished, cut time.Time) {
		if id == x {
			calls <- call{finished, cut}
		}
	})
	if err := a.Close(); err != nil { // dies mid-run of s1
		t.Fatal(err)
	}
	waitCall := func(what string, want call) {
		t.Helper()
		deadline := time.After(time.Minute)
		for {
			select {
			case c := <-calls:
				if c.finished.Equal(want.finished) && c.cut.Equal(want.cut) {
					return
				}
				t.Logf("catch-up call %v (waiting for %v)", c, want)
			case <-deadline:
				t.Fatalf("no catch-up call for %s", what)
			}
		}
	}
	waitCall("the cut-off slot s1", call{s0, s1})
	if _, err := b.TryClaim(x, s0); err == nil || !strings.Contains(err.Error(), ReasonFinished) {
		t.Fatalf("claim of s0, which the predecessor finished: %v, want refused", err)
	}
	rel, err := b.TryClaim(x, s1)
	if err != nil {
		t.Fatalf("the new owner could not claim the cut-off s1: %v", err)
	}
	rel()
	waitCall("the pass after s1 finished", call{s1, time.Time{}})
	if _, err := b.TryClaim(x, s1); err == nil {
		t.Fatal("the cut-off slot s1 ran twice")
	}

	// A cut-off s2 made moot by a finished s3.
	_, err = b.TryClaim(x, s2)
	if err != nil {
		t.Fatal(err)
	}
	cli := srv.Client()
	if _, err := cli.Delete(t.Context(), "/jagad/test/claims/"+x+"/"+slotKey(s2)); err != nil { // as if its lease had gone
		t.Fatal(err)
	}
	rel, err = b.TryClaim(x, s3)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	waitCall("the pass after s3 finished, s2 moot", call{s3, time.Time{}})
	left, err := cli.Get(t.Context(), "/jagad/test/started/"+x+"/", clientv3.WithPrefix())
	if err != nil || len(left.Kvs) != 0 {
		t.Fatalf("started marks left: %v %v, want none", left.Kvs, err)
	}
}
