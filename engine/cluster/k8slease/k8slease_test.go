package k8slease

// These tests run the election against k8sleasetest.Server, a Lease API
// over HTTPS that answers as kube-apiserver does (resourceVersion checked
// on every write, 409 Conflict and AlreadyExists, 404 NotFound, as
// metav1.Status), through the real HTTPClient made from a kubeconfig
// file. It is the one place in Jagad's `make test` where a fake replaces
// the real thing: no package provides a kube-apiserver. realapi_test.go
// (build tag kubeapiserver) runs the same scenarios against a real one,
// built from source by `make test-k8s`.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/cluster/k8slease/k8sleasetest"
	"github.com/jagad/jagad/state/logbuf"
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

// apiServer is a Lease API the election scenarios run against:
// k8sleasetest.Server here, a real kube-apiserver in realapi_test.go.
type apiServer interface {
	// Kubeconfig is a kubeconfig file for a candidate, with namespace as
	// its context's.
	Kubeconfig(t testing.TB, namespace string) string
	Holder(namespace, name string) (holder string, ok bool)
	Lease(namespace, name string) map[string]any
	// Change writes the Lease as another client would.
	Change(namespace, name string, change func(obj map[string]any)) bool
	Delete(namespace, name string) bool
}

// newAPI is the Lease API server.
func newAPI(t *testing.T) *k8sleasetest.Server {
	t.Helper()
	return k8sleasetest.New(t)
}

// scenarios are the election tests that run against any apiServer.
var scenarios = []struct {
	name string
	run  func(*testing.T, apiServer)
}{
	{"OneLeaderAmongThree", testOneLeaderAmongThree},
	{"TakeoverWhenNotRenewed", testTakeoverWhenNotRenewed},
	{"LeaseDeleted", testLeaseDeleted},
	{"CloseHandsOver", testCloseHandsOver},
	{"RenewalKeepsOtherFields", testRenewalKeepsOtherFields},
	{"ForeignHolderRespected", testForeignHolderRespected},
	{"CloseReleases", testCloseReleases},
	{"APIAnswers", testAPIAnswers},
}

// newClient is a candidate's own connection to api, made from a
// kubeconfig file as the daemon makes it.
func newClient(t *testing.T, api apiServer) *HTTPClient {
	t.Helper()
	cli, ns, err := NewClient(api.Kubeconfig(t, testNS), testDeadline/2)
	if err != nil {
		t.Fatal(err)
	}
	if ns != testNS {
		t.Fatalf("kubeconfig namespace %q", ns)
	}
	return cli
}

// link is one candidate's connection to the API: cut makes every call fail
// as an unreachable server does.
type link struct {
	api Client
	cut atomic.Bool
}

var errCut = errors.New("connect: connection refused (cut by the test)")

func (l *link) Get(ctx context.Context, ns, name string) (*Lease, error) {
	if l.cut.Load() {
		return nil, errCut
	}
	return l.api.Get(ctx, ns, name)
}

func (l *link) Create(ctx context.Context, le *Lease) (*Lease, error) {
	if l.cut.Load() {
		return nil, errCut
	}
	return l.api.Create(ctx, le)
}

func (l *link) Update(ctx context.Context, le *Lease) (*Lease, error) {
	if l.cut.Load() {
		return nil, errCut
	}
	return l.api.Update(ctx, le)
}

type candidate struct {
	e    *Elector
	link *link
	reg  *prometheus.Registry
}

func start(t *testing.T, api apiServer, id string) *candidate {
	t.Helper()
	c := &candidate{link: &link{api: newClient(t, api)}, reg: prometheus.NewRegistry()}
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

func holder(t *testing.T, api apiServer) string {
	t.Helper()
	h, ok := api.Holder(testNS, testLease)
	if !ok {
		t.Fatal("no Lease")
	}
	return h
}

// TestOneLeaderAmongThree: three candidates, one Lease: exactly one gate is
// open, it is the holder's, only it claims slots, and all three are ready.
func TestOneLeaderAmongThree(t *testing.T) { testOneLeaderAmongThree(t, newAPI(t)) }

func testOneLeaderAmongThree(t *testing.T, api apiServer) {
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
func TestTakeoverWhenNotRenewed(t *testing.T) { testTakeoverWhenNotRenewed(t, newAPI(t)) }

func testTakeoverWhenNotRenewed(t *testing.T, api apiServer) {
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
func TestLeaseDeleted(t *testing.T) { testLeaseDeleted(t, newAPI(t)) }

func testLeaseDeleted(t *testing.T, api apiServer) {
	cs := []*candidate{start(t, api, "jagad-0"), start(t, api, "jagad-1"), start(t, api, "jagad-2")}
	watchGates(t, cs)
	waitFor(t, "a leader", oneLeader(cs))
	old := leaders(cs)[0]
	deleted := time.Now()
	if !api.Delete(testNS, testLease) {
		t.Fatal("no Lease to delete")
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
func TestCloseHandsOver(t *testing.T) { testCloseHandsOver(t, newAPI(t)) }

func testCloseHandsOver(t *testing.T, api apiServer) {
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
// schedule with its known runs (finished, interrupted), once its gate is
// open.
func TestFollowCatchesUpOnLeading(t *testing.T) {
	api := newAPI(t)
	last := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	l := &link{api: newClient(t, api)}
	e, err := Start(Options{Client: l, Namespace: testNS, Name: testLease, ID: "jagad-0",
		LeaseDuration: testDuration, RenewDeadline: testDeadline, RetryPeriod: testRetry,
		Schedules: func() []string { return []string{"a", "b"} },
		LastRuns: func(id string) (time.Time, time.Time) {
			if id == "b" {
				return last, last.Add(time.Hour) // its newest run was cut off
			}
			return last, time.Time{}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	got := map[string][2]time.Time{}
	var openAtPass atomic.Bool
	openAtPass.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Follow(ctx, testRetry, func(id string, finished, interrupted time.Time) {
			if !e.Leading() {
				openAtPass.Store(false)
			}
			mu.Lock()
			got[id] = [2]time.Time{finished, interrupted}
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
	if a, b := got["a"], got["b"]; !a[0].Equal(last) || !a[1].IsZero() || !b[0].Equal(last) || !b[1].Equal(last.Add(time.Hour)) {
		t.Errorf("catch-up got %v", got)
	}
}

func TestStartChecksOptions(t *testing.T) {
	api := newAPI(t)
	base := Options{Client: newClient(t, api), Namespace: testNS, Name: testLease}
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

// TestRenewalKeepsOtherFields: the leader's renewals write the Lease back
// as the server sent it, so labels, annotations and spec fields the
// election does not use survive; the acquire time and the transitions stay
// those of the term.
func TestRenewalKeepsOtherFields(t *testing.T) { testRenewalKeepsOtherFields(t, newAPI(t)) }

func testRenewalKeepsOtherFields(t *testing.T, api apiServer) {
	c := start(t, api, "jagad-0")
	waitFor(t, "a leader", func() bool { return c.e.Leading() })
	if !api.Change(testNS, testLease, func(obj map[string]any) {
		obj["metadata"].(map[string]any)["labels"] = map[string]any{"app": "jagad"}
		obj["spec"].(map[string]any)["strategy"] = "OldestEmulationVersion"
	}) {
		t.Fatal("no Lease")
	}
	first := api.Lease(testNS, testLease)
	waitFor(t, "two renewals", func() bool {
		l := api.Lease(testNS, testLease)
		return l["spec"].(map[string]any)["renewTime"] != first["spec"].(map[string]any)["renewTime"] &&
			l["metadata"].(map[string]any)["resourceVersion"] != first["metadata"].(map[string]any)["resourceVersion"]
	})
	l := api.Lease(testNS, testLease)
	meta, spec := l["metadata"].(map[string]any), l["spec"].(map[string]any)
	if fmt.Sprint(meta["labels"]) != "map[app:jagad]" || spec["strategy"] != "OldestEmulationVersion" {
		t.Errorf("fields lost in a renewal: labels %v, strategy %v", meta["labels"], spec["strategy"])
	}
	if spec["acquireTime"] != first["spec"].(map[string]any)["acquireTime"] {
		t.Errorf("a renewal moved the acquire time: %v → %v", first["spec"].(map[string]any)["acquireTime"], spec["acquireTime"])
	}
	if spec["holderIdentity"] != "jagad-0" || fmt.Sprint(spec["leaseDurationSeconds"]) != "2" || fmt.Sprint(spec["leaseTransitions"]) != "0" {
		t.Errorf("Lease spec %v", spec)
	}
}

// TestForeignHolderRespected: a Lease held by a candidate that is not
// Jagad's (client-go's election writes the same fields) and renewed keeps
// this candidate out; once the renewals stop, it takes the Lease over after
// the Lease's duration, counting a transition.
func TestForeignHolderRespected(t *testing.T) { testForeignHolderRespected(t, newAPI(t)) }

func testForeignHolderRespected(t *testing.T, api apiServer) {
	owner := newClient(t, api)
	now := time.Now()
	l, err := owner.Create(context.Background(), &Lease{Namespace: testNS, Name: testLease,
		Record: Record{Holder: "other", LeaseDurationSeconds: 2, AcquireTime: now, RenewTime: now, Transitions: 4}})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	renewed := make(chan struct{})
	lastRenewal := now // when the last successful renewal began
	go func() {        // the other holder renews every 200 ms until stopped
		defer close(renewed)
		for {
			select {
			case <-stop:
				return
			case <-time.After(testRetry):
			}
			next := *l
			began := time.Now()
			next.RenewTime = began
			if w, err := owner.Update(context.Background(), &next); err == nil {
				l, lastRenewal = w, began
			}
		}
	}()
	c := start(t, api, "jagad-0")
	waitFor(t, "the candidate to see the other holder", func() bool { return c.e.Leader() == "other" })
	// Three lease durations of renewals: never leading.
	for end := time.Now().Add(3 * testDuration); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if c.e.Leading() {
			t.Fatal("took a Lease its holder keeps renewing")
		}
	}
	close(stop)
	<-renewed
	waitFor(t, "the takeover", func() bool { return c.e.Leading() })
	// No candidate can have seen the last renewal before it began.
	if d := time.Since(lastRenewal); d < testDuration {
		t.Errorf("took the Lease over %v after its last renewal began, before its duration %v", d, testDuration)
	}
	spec := api.Lease(testNS, testLease)["spec"].(map[string]any)
	if spec["holderIdentity"] != "jagad-0" || fmt.Sprint(spec["leaseTransitions"]) != "5" {
		t.Errorf("after the takeover: %v", spec)
	}
}

// TestCloseReleases: a leader's Close leaves the Lease without a holder
// and with one second left, as client-go's ReleaseOnCancel does.
func TestCloseReleases(t *testing.T) { testCloseReleases(t, newAPI(t)) }

func testCloseReleases(t *testing.T, api apiServer) {
	c := start(t, api, "jagad-0")
	waitFor(t, "a leader", func() bool { return c.e.Leading() })
	if err := c.e.Close(); err != nil {
		t.Fatal(err)
	}
	spec := api.Lease(testNS, testLease)["spec"].(map[string]any)
	if spec["holderIdentity"] != "" || fmt.Sprint(spec["leaseDurationSeconds"]) != "1" {
		t.Errorf("after Close: %v", spec)
	}
}

// TestUnauthorizedIsNotReady: a wrong token keeps the candidate out and
// unready, with the server's reason and without the token in the error.
func TestUnauthorizedIsNotReady(t *testing.T) {
	api := newAPI(t)
	cli := newClient(t, api)
	cli.token = &tokenSource{static: "wrong-secret-token"}
	var logs logbuf.Buffer
	e, err := Start(Options{Client: cli, Namespace: testNS, Name: testLease, ID: "jagad-0",
		LeaseDuration: testDuration, RenewDeadline: testDeadline, RetryPeriod: testRetry,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	waitFor(t, "an answer from the API server", func() bool { return e.lastErr() != nil })
	err = e.Ready()
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Fatalf("Ready = %v, want the server's 401", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-token") {
		t.Fatalf("the token is in the error: %v", err)
	}
	if e.Leading() {
		t.Fatal("leading without access")
	}
	// Retried every retry period, logged once.
	waitFor(t, "a few retries", func() bool { return strings.Contains(logs.String(), "401") })
	time.Sleep(5 * testRetry)
	if n := strings.Count(logs.String(), "401 Unauthorized"); n != 1 {
		t.Errorf("the refusal was logged %d times, want once:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "wrong-secret-token") {
		t.Error("the token is in the log")
	}
}

// TestAPIAnswers: the server's answers the client and the election rely on,
// decoded by the client: 404 NotFound, 409 AlreadyExists and Conflict (a
// stale resourceVersion; the uid of a deleted Lease), 422 Invalid, and a
// write that changes nothing keeps the resourceVersion. Against the real
// server too, so that the fake answers as it does.
func TestAPIAnswers(t *testing.T) { testAPIAnswers(t, newAPI(t)) }

func testAPIAnswers(t *testing.T, api apiServer) {
	ctx := context.Background()
	cli := newClient(t, api)
	const name = "answers"
	defer api.Delete(testNS, name)

	if _, err := cli.Get(ctx, testNS, name); !IsNotFound(err) {
		t.Errorf("get of a missing Lease: %v, want IsNotFound", err)
	}
	now := time.Now()
	rec := Record{Holder: "jagad-0", LeaseDurationSeconds: 2, AcquireTime: now, RenewTime: now}
	first, err := cli.Create(ctx, &Lease{Namespace: testNS, Name: name, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Create(ctx, &Lease{Namespace: testNS, Name: name, Record: rec}); !IsAlreadyExists(err) || IsConflict(err) {
		t.Errorf("second create: %v, want IsAlreadyExists only", err)
	}
	same, err := cli.Update(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if same.ResourceVersion != first.ResourceVersion {
		t.Errorf("a write that changes nothing moved the resourceVersion %s → %s", first.ResourceVersion, same.ResourceVersion)
	}
	next := *first
	next.RenewTime = now.Add(time.Second)
	second, err := cli.Update(ctx, &next)
	if err != nil {
		t.Fatal(err)
	}
	if second.ResourceVersion == first.ResourceVersion {
		t.Errorf("a renewal kept the resourceVersion %s", first.ResourceVersion)
	}
	stale := *first // first's resourceVersion, no longer the current one
	stale.Holder = "jagad-1"
	if _, err := cli.Update(ctx, &stale); !IsConflict(err) || IsAlreadyExists(err) {
		t.Errorf("update at a stale resourceVersion: %v, want IsConflict only", err)
	}
	// Deleted under a holder: its next write, of the object it read (uid
	// and all), is a conflict, not a new Lease.
	if !api.Delete(testNS, name) {
		t.Fatal("no Lease to delete")
	}
	if _, err := cli.Update(ctx, second); !IsConflict(err) {
		t.Errorf("update of a deleted Lease: %v, want IsConflict", err)
	}
	if _, ok := api.Holder(testNS, name); ok {
		t.Error("an update of a deleted Lease made it again")
	}
	// A Lease written without a uid (not read from the server) is created
	// by an update: Leases allow create on update.
	put := &Lease{Namespace: testNS, Name: name, ResourceVersion: "1", Record: rec}
	if _, err := cli.Update(ctx, put); err != nil {
		t.Errorf("update without uid of a missing Lease: %v, want it created", err)
	} else if h, _ := api.Holder(testNS, name); h != "jagad-0" {
		t.Errorf("update without uid of a missing Lease: holder %q", h)
	}
	for field, r := range map[string]Record{
		"spec.leaseDurationSeconds": {Holder: "jagad-0", AcquireTime: now, RenewTime: now},
		"spec.leaseTransitions":     {Holder: "jagad-0", LeaseDurationSeconds: 2, Transitions: -1},
	} {
		_, err := cli.Create(ctx, &Lease{Namespace: testNS, Name: "invalid", Record: r})
		var se *StatusError
		if !errors.As(err, &se) || se.Code != http.StatusUnprocessableEntity || se.Reason != "Invalid" ||
			!strings.Contains(se.Message, field) {
			t.Errorf("create with an invalid %s: %v, want 422 Invalid naming it", field, err)
		}
		if IsNotFound(err) || IsConflict(err) || IsAlreadyExists(err) {
			t.Errorf("422 taken for another status: %v", err)
		}
	}
}

// TestReleaseAfterLostAnswer: a renewal the server wrote but whose answer
// never arrived (the shutdown cancelled it) leaves the version the leader
// last saw stale; the release reads the Lease first and still hands it
// back, instead of failing on a conflict and leaving a standby to wait
// lease_duration.
func TestReleaseAfterLostAnswer(t *testing.T) {
	api := newAPI(t)
	l := &link{api: newClient(t, api)}
	l.cut.Store(true)
	e, err := Start(Options{Client: l, Namespace: testNS, Name: testLease, ID: "jagad-0",
		LeaseDuration: testDuration, RenewDeadline: testDeadline, RetryPeriod: testRetry})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil { // its loop is over: e is the test's alone
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	seen, err := l.api.Create(ctx, &Lease{Namespace: testNS, Name: testLease,
		Record: Record{Holder: "jagad-0", LeaseDurationSeconds: 2, AcquireTime: now, RenewTime: now}})
	if err != nil {
		t.Fatal(err)
	}
	renewal := *seen
	renewal.RenewTime = now.Add(testRetry)
	if _, err := l.api.Update(ctx, &renewal); err != nil { // its answer lost
		t.Fatal(err)
	}
	e.observed = seen
	l.cut.Store(false)
	e.release()
	spec := api.Lease(testNS, testLease)["spec"].(map[string]any)
	if spec["holderIdentity"] != "" || fmt.Sprint(spec["leaseDurationSeconds"]) != "1" {
		t.Errorf("after the release: %v", spec)
	}
}

// TestGateClosedWhy: a gate closed while valid keeps the reason of the
// close; one that ran out without a renewal is CutUnconfirmed, whatever
// closes it later; a renewal starts afresh.
func TestGateClosedWhy(t *testing.T) {
	var g term
	now := time.Now()
	g.opened(now, time.Hour, false)
	g.close(CutLost)
	if got := g.closedWhy(); got != CutLost {
		t.Errorf("closed while valid: %q, want %q", got, CutLost)
	}
	g.close(CutLeft) // already closed: the first reason stands
	if got := g.closedWhy(); got != CutLost {
		t.Errorf("closed twice: %q, want %q", got, CutLost)
	}
	g.opened(time.Now(), time.Hour, false)
	if g.why != "" || !g.open(time.Now()) {
		t.Errorf("a renewal did not reopen the gate: why %q", g.why)
	}
	g.close(CutLeft)
	if got := g.closedWhy(); got != CutLeft {
		t.Errorf("shut down while valid: %q, want %q", got, CutLeft)
	}
	var late term
	late.opened(now.Add(-2*time.Hour), time.Hour, false) // ran out an hour ago
	late.close(CutLost)                                  // then saw another holder
	if got := late.closedWhy(); got != CutUnconfirmed {
		t.Errorf("ran out, then closed: %q, want %q", got, CutUnconfirmed)
	}
}
