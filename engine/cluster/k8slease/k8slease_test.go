package k8slease

// These tests run client-go's real leader election (leaderelection.LeaderElector
// on a resourcelock.LeaseLock, unchanged) against client-go's fake clientset
// (k8s.io/client-go/kubernetes/fake) instead of a Kubernetes API server. This
// is the one place in Jagad's tests where a fake replaces the real thing: no
// kube-apiserver can run on the build machines (no package provides one, and
// there is no network to fetch one), and the election needs nothing from the
// server but storing Lease objects. The fake's object tracker does not check
// resourceVersion on update, which is what makes two candidates' writes of
// one Lease race safely on a real server, so newAPI adds that check
// (optimistic concurrency, 409 Conflict) for Leases: without it "exactly one
// leader" would hold by luck, not by the protocol.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	k8stesting "k8s.io/client-go/testing"
)

const (
	testNS    = "backups"
	testLease = "jagad"
	// Short terms keep the tests quick; the ratios are those of the
	// defaults' kind (duration > deadline > 1.2 × retry).
	testDuration = 2 * time.Second
	testDeadline = time.Second
	testRetry    = 200 * time.Millisecond
)

var leasesGVR = coordinationv1.SchemeGroupVersion.WithResource("leases")

// newAPI is the fake API server: a fake clientset whose Lease create and
// update set and check resourceVersion as the real server does.
func newAPI(t *testing.T) *fake.Clientset {
	t.Helper()
	cs := fake.NewSimpleClientset()
	var rv int64 // the Fake's lock is held around every reactor call
	cs.PrependReactor("create", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		l := a.(k8stesting.CreateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		rv++
		l.ResourceVersion = strconv.FormatInt(rv, 10)
		if err := cs.Tracker().Create(leasesGVR, l, l.Namespace); err != nil {
			return true, nil, err
		}
		return true, l.DeepCopy(), nil
	})
	cs.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		l := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		cur, err := cs.Tracker().Get(leasesGVR, l.Namespace, l.Name)
		if err != nil {
			return true, nil, err
		}
		if cur.(*coordinationv1.Lease).ResourceVersion != l.ResourceVersion {
			return true, nil, apierrors.NewConflict(leasesGVR.GroupResource(), l.Name,
				errors.New("the object has been modified; please apply your changes to the latest version and try again"))
		}
		rv++
		l.ResourceVersion = strconv.FormatInt(rv, 10)
		if err := cs.Tracker().Update(leasesGVR, l, l.Namespace); err != nil {
			return true, nil, err
		}
		return true, l.DeepCopy(), nil
	})
	return cs
}

// link is one candidate's connection to the API: cut makes every call fail
// as an unreachable server does.
type link struct {
	api coordinationv1client.LeasesGetter
	cut atomic.Bool
}

func (l *link) Leases(ns string) coordinationv1client.LeaseInterface {
	return cutLeases{LeaseInterface: l.api.Leases(ns), l: l}
}

type cutLeases struct {
	coordinationv1client.LeaseInterface
	l *link
}

var errCut = errors.New("connect: connection refused (cut by the test)")

func (c cutLeases) Get(ctx context.Context, name string, o metav1.GetOptions) (*coordinationv1.Lease, error) {
	if c.l.cut.Load() {
		return nil, errCut
	}
	return c.LeaseInterface.Get(ctx, name, o)
}

func (c cutLeases) Create(ctx context.Context, l *coordinationv1.Lease, o metav1.CreateOptions) (*coordinationv1.Lease, error) {
	if c.l.cut.Load() {
		return nil, errCut
	}
	return c.LeaseInterface.Create(ctx, l, o)
}

func (c cutLeases) Update(ctx context.Context, l *coordinationv1.Lease, o metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	if c.l.cut.Load() {
		return nil, errCut
	}
	return c.LeaseInterface.Update(ctx, l, o)
}

type candidate struct {
	e    *Elector
	link *link
	reg  *prometheus.Registry
}

func start(t *testing.T, api *fake.Clientset, id string) *candidate {
	t.Helper()
	c := &candidate{link: &link{api: api.CoordinationV1()}, reg: prometheus.NewRegistry()}
	e, err := Start(Options{Client: c.link, Namespace: testNS, Name: testLease, ID: id,
		LeaseDuration: testDuration, RenewDeadline: testDeadline, RetryPeriod: testRetry,
		Registerer: c.reg, Schedules: func() []string { return []string{"a", "b", "c"} }})
	if err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
	c.e = e
	t.Cleanup(func() { e.Close() })
	return c
}

// waitFor waits for cond, failing after a minute (a hang, not a timing
// assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// watchGates samples every candidate's gate in rounds until the test ends
// and fails it if two were open in one round. Every handover in these tests
// keeps both gates closed for far longer than a round.
func watchGates(t *testing.T, cs []*candidate) {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan struct{})
	var mu sync.Mutex
	var both string
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			var open []string
			for _, c := range cs {
				if c.e.Leading() {
					open = append(open, c.e.ID())
				}
			}
			if len(open) > 1 {
				mu.Lock()
				if both == "" {
					both = fmt.Sprint(open)
				}
				mu.Unlock()
			}
			time.Sleep(time.Millisecond)
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		if both != "" {
			t.Errorf("two gates open at once: %s", both)
		}
	})
}

// leaders lists the candidates whose gate is open.
func leaders(cs []*candidate) []*candidate {
	var out []*candidate
	for _, c := range cs {
		if c.e.Leading() {
			out = append(out, c)
		}
	}
	return out
}

func oneLeader(cs []*candidate) func() bool {
	return func() bool { return len(leaders(cs)) == 1 }
}

func holder(t *testing.T, api *fake.Clientset) string {
	t.Helper()
	l, err := api.CoordinationV1().Leases(testNS).Get(context.Background(), testLease, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get lease: %v", err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// TestOneLeaderAmongThree: three candidates, one Lease: exactly one gate is
// open, it is the holder's, only it claims slots, and all three are ready.
func TestOneLeaderAmongThree(t *testing.T) {
	api := newAPI(t)
	cs := []*candidate{start(t, api, "jagad-0"), start(t, api, "jagad-1"), start(t, api, "jagad-2")}
	watchGates(t, cs)
	waitFor(t, "a leader", oneLeader(cs))
	lead := leaders(cs)[0]
	// Every candidate has seen the holder: the election has settled.
	waitFor(t, "every candidate to see the holder", func() bool {
		for _, c := range cs {
			if c.e.Leader() != lead.e.ID() {
				return false
			}
		}
		return true
	})
	if h := holder(t, api); h != lead.e.ID() {
		t.Fatalf("the Lease is held by %q, the open gate is %s's", h, lead.e.ID())
	}
	slot := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	for _, c := range cs {
		release, ok := c.e.Claim("a", slot)
		if ok != (c == lead) {
			t.Errorf("%s: Claim = %v, leader %s", c.e.ID(), ok, lead.e.ID())
		}
		if ok {
			release()
		}
		if err := c.e.Ready(); err != nil {
			t.Errorf("%s: not ready: %v", c.e.ID(), err)
		}
		up := value(t, c.reg, "jagad_cluster_member_up")
		leader := value(t, c.reg, "jagad_cluster_leader")
		owned := value(t, c.reg, "jagad_cluster_schedules_owned")
		want := 0.0
		if c == lead {
			want = 1
		}
		if up != 1 || leader != want || owned != 3*want {
			t.Errorf("%s: member_up %v, leader %v, schedules_owned %v", c.e.ID(), up, leader, owned)
		}
	}
}

// TestTakeoverWhenNotRenewed: the leader loses the API server, so it cannot
// renew; another candidate takes the Lease over, and the old leader's gate
// closed before the new one's opened.
func TestTakeoverWhenNotRenewed(t *testing.T) {
	api := newAPI(t)
	cs := []*candidate{start(t, api, "jagad-0"), start(t, api, "jagad-1"), start(t, api, "jagad-2")}
	watchGates(t, cs)
	waitFor(t, "a leader", oneLeader(cs))
	old := leaders(cs)[0]
	old.link.cut.Store(true)
	waitFor(t, "another leader", func() bool {
		l := leaders(cs)
		return len(l) == 1 && l[0] != old
	})
	next := leaders(cs)[0]
	if until, since := old.e.ValidUntil(), next.e.OpenSince(); !until.Before(since) {
		t.Errorf("the old gate was open until %v, the new one from %v", until, since)
	}
	slot := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	if _, ok := old.e.Claim("a", slot); ok {
		t.Error("the old leader still claims slots")
	}
	if _, ok := next.e.Claim("a", slot); !ok {
		t.Error("the new leader refuses slots")
	}
	if h := holder(t, api); h != next.e.ID() {
		t.Errorf("the Lease is held by %q, want %s", h, next.e.ID())
	}
	// Cut off for longer than a lease duration: not ready, not a member.
	waitFor(t, "the cut-off candidate to be unready", func() bool { return old.e.Ready() != nil })
	if v := value(t, old.reg, "jagad_cluster_member_up"); v != 0 {
		t.Errorf("cut-off member_up = %v", v)
	}
	if v := value(t, old.reg, "jagad_cluster_leadership_changes_total"); v != 2 {
		t.Errorf("old leader's leadership changes = %v, want 2 (started, stopped)", v)
	}
	// Back in contact, it follows the new leader.
	old.link.cut.Store(false)
	waitFor(t, "the old leader to be ready again", func() bool { return old.e.Ready() == nil })
	waitFor(t, "the old leader to see the new one", func() bool { return old.e.Leader() == next.e.ID() })
	if l := leaders(cs); len(l) != 1 || l[0] != next {
		t.Errorf("leaders after the return: %d", len(l))
	}
}

// TestLeaseDeleted: the Lease is deleted under the leader: the candidate
// that creates it again waits a renew deadline before its gate opens, so
// the old holder, which counted on its last renewal, has given up; exactly
// one leader afterwards.
func TestLeaseDeleted(t *testing.T) {
	api := newAPI(t)
	cs := []*candidate{start(t, api, "jagad-0"), start(t, api, "jagad-1"), start(t, api, "jagad-2")}
	watchGates(t, cs)
	waitFor(t, "a leader", oneLeader(cs))
	old := leaders(cs)[0]
	deleted := time.Now()
	if err := api.CoordinationV1().Leases(testNS).Delete(context.Background(), testLease, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every gate to close", func() bool { return len(leaders(cs)) == 0 })
	waitFor(t, "a leader again", oneLeader(cs))
	next := leaders(cs)[0]
	opened := time.Now()
	if opened.Sub(deleted) < testDeadline {
		t.Errorf("a gate opened %v after the deletion, before the renew deadline %v", opened.Sub(deleted), testDeadline)
	}
	if next != old { // the old leader cannot write the Lease any more: its gate's end is final
		if until, since := old.e.ValidUntil(), next.e.OpenSince(); !until.Before(since) {
			t.Errorf("the old gate was open until %v, the new one from %v", until, since)
		}
	}
	if h := holder(t, api); h != next.e.ID() {
		t.Errorf("the Lease is held by %q, the open gate is %s's", h, next.e.ID())
	}
}

// TestCloseHandsOver: a leader that closes releases the Lease (its gate
// closed first) and another candidate takes it over without waiting for the
// lease duration.
func TestCloseHandsOver(t *testing.T) {
	api := newAPI(t)
	cs := []*candidate{start(t, api, "jagad-0"), start(t, api, "jagad-1")}
	waitFor(t, "a leader", oneLeader(cs))
	old := leaders(cs)[0]
	other := cs[0]
	if other == old {
		other = cs[1]
	}
	waitFor(t, "the follower to see the leader", func() bool { return other.e.Leader() == old.e.ID() })
	if err := old.e.Close(); err != nil {
		t.Fatal(err)
	}
	if old.e.Leading() {
		t.Fatal("a closed elector leads")
	}
	if h := holder(t, api); h != "" && h != other.e.ID() {
		t.Fatalf("after Close the Lease is held by %q", h)
	}
	waitFor(t, "the other candidate to lead", func() bool { return other.e.Leading() })
	if until, since := old.e.ValidUntil(), other.e.OpenSince(); !until.Before(since) {
		t.Errorf("the old gate was open until %v, the new one from %v", until, since)
	}
}

// TestFollowCatchesUpOnLeading: a new leader's catch-up pass gets every
// schedule with its newest known run, once its gate is open.
func TestFollowCatchesUpOnLeading(t *testing.T) {
	api := newAPI(t)
	last := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	l := &link{api: api.CoordinationV1()}
	e, err := Start(Options{Client: l, Namespace: testNS, Name: testLease, ID: "jagad-0",
		LeaseDuration: testDuration, RenewDeadline: testDeadline, RetryPeriod: testRetry,
		Schedules:    func() []string { return []string{"a", "b"} },
		LastFinished: func(id string) time.Time { return last.Add(time.Duration(len(id)) * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	got := map[string]time.Time{}
	var openAtPass atomic.Bool
	openAtPass.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Follow(ctx, testRetry, func(id string, finished time.Time) {
			if !e.Leading() {
				openAtPass.Store(false)
			}
			mu.Lock()
			got[id] = finished
			mu.Unlock()
		})
	}()
	waitFor(t, "the catch-up pass", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 2
	})
	cancel()
	<-done
	if !openAtPass.Load() {
		t.Error("the catch-up pass ran with the gate closed")
	}
	if !got["a"].Equal(last.Add(time.Minute)) || !got["b"].Equal(last.Add(time.Minute)) {
		t.Errorf("catch-up got %v", got)
	}
}

func TestStartChecksOptions(t *testing.T) {
	api := newAPI(t)
	base := Options{Client: api.CoordinationV1(), Namespace: testNS, Name: testLease}
	for name, mod := range map[string]func(*Options){
		"no client":            func(o *Options) { o.Client = nil },
		"no name":              func(o *Options) { o.Name = "" },
		"fractional duration":  func(o *Options) { o.LeaseDuration = 2500 * time.Millisecond },
		"deadline >= duration": func(o *Options) { o.LeaseDuration, o.RenewDeadline = 5*time.Second, 5*time.Second },
		"retry too long":       func(o *Options) { o.RenewDeadline, o.RetryPeriod = 4*time.Second, 4*time.Second },
	} {
		o := base
		mod(&o)
		if e, err := Start(o); err == nil {
			e.Close()
			t.Errorf("%s: Start accepted %+v", name, o)
		}
	}
}

// value is a gathered gauge's or counter's value.
func value(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
