// Package k8slease runs Jagad's single-leader mode on a Kubernetes
// coordination.k8s.io Lease, with client-go's leader-election protocol on
// the Lease's fields but without client-go (which would more than add half
// to the daemon's resident memory): of the
// daemons sharing one jagad.yaml (the replicas of a Deployment or
// StatefulSet), the one holding the Lease runs every schedule; the others
// run none, serve the API and metrics, and learn the leader's backups from
// the manifests in storage.
//
// An Elector is a schedule.Gate, like the etcd mode's cluster.Member, so the
// scheduler asks it before each due slot. Fail safe: the gate is open only
// while the last write of the Lease naming this daemon began less than
// RenewDeadline ago (see term); it closes at once when the Lease is seen
// held by another, deleted, released or when this candidate stops leading,
// before any other candidate may take the Lease over.
package k8slease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults, those of Kubernetes' own controllers.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Options configure an Elector.
type Options struct {
	// Client reaches the API server's coordination.k8s.io/v1 Leases (see
	// NewClient).
	Client    Client
	Namespace string
	Name      string // the Lease's name
	// ID is this candidate's identity in the Lease (the holder); empty:
	// hostname-pid. It must be unique among the live candidates.
	ID            string
	LeaseDuration time.Duration // default 15 s; whole seconds
	RenewDeadline time.Duration // default 10 s; below LeaseDuration
	RetryPeriod   time.Duration // default 2 s; RenewDeadline > 1.2 × RetryPeriod
	Logger        *slog.Logger
	// Registerer gets the jagad_cluster_* metrics (nil: a private registry).
	Registerer prometheus.Registerer
	// Schedules lists the IDs of the schedules the gate decides (for the
	// owned-count metric); nil: none.
	Schedules func() []string
	// LastRuns is what this daemon knows of a schedule's runs (from the
	// store, which learns the leader's backups from storage): finished, the
	// newest run that counts as made (zero when none); interrupted, the
	// slot of a newer run that was cut off or stopped by a crash (zero when
	// none). A new leader's catch-up pass (Follow) runs the interrupted slot
	// again, else the newest due slot after finished. nil: no catch-up.
	LastRuns func(scheduleID string) (finished, interrupted time.Time)
}

// Elector is this daemon's candidacy for the Lease.
type Elector struct {
	opts Options
	log  *slog.Logger
	t    *term
	met  *metrics

	cancel context.CancelFunc
	done   chan struct{}

	// observed is the Lease as last read or written, observedAt when its
	// record last changed as this candidate saw it (run's goroutine only).
	observed   *Lease
	observedAt time.Time
	failing    string // the API server's last error as logged ("" when it answers)

	mu      sync.Mutex
	leading bool   // between acquiring the Lease and giving it up
	leader  string // the holder last seen
	started chan struct{}
	since   time.Time // when the gate was first seen open in this term
}

// Start validates opts and starts campaigning for the Lease in the
// background. Close stops (releasing the Lease if held).
func Start(opts Options) (*Elector, error) {
	if opts.Client == nil {
		return nil, errors.New("k8slease: no client")
	}
	if opts.Namespace == "" || opts.Name == "" {
		return nil, errors.New("k8slease: the Lease's namespace and name are required")
	}
	if opts.LeaseDuration <= 0 {
		opts.LeaseDuration = DefaultLeaseDuration
	}
	if opts.RenewDeadline <= 0 {
		opts.RenewDeadline = DefaultRenewDeadline
	}
	if opts.RetryPeriod <= 0 {
		opts.RetryPeriod = DefaultRetryPeriod
	}
	if opts.LeaseDuration%time.Second != 0 {
		return nil, errors.New("k8slease: the lease duration must be whole seconds (the Lease counts seconds)")
	}
	if opts.LeaseDuration <= opts.RenewDeadline {
		return nil, errors.New("k8slease: the lease duration must exceed the renew deadline")
	}
	if opts.RenewDeadline <= time.Duration(jitterFactor*float64(opts.RetryPeriod)) {
		return nil, fmt.Errorf("k8slease: the renew deadline must exceed %v × the retry period", jitterFactor)
	}
	if opts.ID == "" {
		host, _ := os.Hostname()
		opts.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.Schedules == nil {
		opts.Schedules = func() []string { return nil }
	}
	e := &Elector{
		opts: opts, t: &term{}, done: make(chan struct{}), started: make(chan struct{}),
		log: opts.Logger.With("component", "cluster", "lease", opts.Namespace+"/"+opts.Name, "member", opts.ID),
	}
	e.met = newMetrics(opts.Registerer, e)
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go e.run(ctx)
	return e, nil
}

// setLeading records the start and the end of a term.
func (e *Elector) setLeading(on bool) {
	if !on {
		e.t.close(CutUnconfirmed) // first: no run starts from here on
	}
	e.mu.Lock()
	was := e.leading
	e.leading = on
	if on && !was {
		// The gate cannot open before now nor before a created Lease's wait.
		e.since = time.Now()
		e.t.mu.Lock()
		if e.t.openFrom.After(e.since) {
			e.since = e.t.openFrom
		}
		e.t.mu.Unlock()
		close(e.started)
		e.started = make(chan struct{})
	}
	e.mu.Unlock()
	if on == was {
		return
	}
	n := len(e.opts.Schedules())
	e.met.transitions.Inc()
	e.met.ownershipChanges.Add(float64(n))
	if on {
		e.log.Info("cluster: leading: this daemon runs every schedule", "schedules", n)
	} else {
		e.log.Warn("cluster: leadership lost: no scheduled run starts here", "schedules", n)
	}
}

func (e *Elector) newLeader(id string) {
	e.mu.Lock()
	e.leader = id
	e.mu.Unlock()
	if id != e.opts.ID && id != "" {
		e.log.Info("cluster: the Lease is held by another daemon", "leader", id)
	}
}

// ID is this candidate's identity.
func (e *Elector) ID() string { return e.opts.ID }

// Leader is the holder this candidate last saw ("" before it saw one).
func (e *Elector) Leader() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader
}

// Leading reports whether the gate is open now: this daemon leads and its
// last renewal of the Lease is recent enough to be sure no other does.
func (e *Elector) Leading() bool {
	e.mu.Lock()
	leading := e.leading
	e.mu.Unlock()
	return leading && e.t.open(time.Now())
}

// OpenSince is the earliest instant Leading can have been true in the
// current or last term (zero: never led).
func (e *Elector) OpenSince() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.since
}

// ValidUntil is when the gate closes at the latest unless the Lease is
// renewed; once it closed, the instant it did (zero: never opened).
func (e *Elector) ValidUntil() time.Time {
	e.t.mu.Lock()
	defer e.t.mu.Unlock()
	return e.t.validUntil
}

// Claim is the scheduler's question "may I run this slot?" (schedule.Gate):
// true only while Leading. A follower's refusal is silent; a leader whose
// renewal is overdue refuses with reason not_in_group. release does nothing
// but is called once the run ends.
func (e *Elector) Claim(scheduleID string, slot time.Time) (release func(), ok bool) {
	if e.Leading() {
		e.met.claims.Inc()
		return func() {}, true
	}
	e.mu.Lock()
	leading := e.leading
	e.mu.Unlock()
	if leading {
		e.met.refused.WithLabelValues(reasonNotInGroup).Inc()
		e.log.Warn("cluster: slot refused: the Lease's renewal is overdue", "schedule_id", scheduleID,
			"slot", slot.UTC().Format(time.RFC3339))
	}
	return nil, false
}

// Cut-off reasons: the etcd mode's labels of jagad_cluster_runs_cut_off_total,
// with the meaning they take here: why the gate closed under a run.
const (
	// CutUnconfirmed: the leader's last renewal of the Lease is more than
	// renew_deadline old (the API server slow or unreachable, or this host
	// too busy to renew); another daemon may take the Lease over.
	CutUnconfirmed = "unconfirmed"
	// CutLost: the Lease was seen held by another daemon, released by
	// someone else, or deleted.
	CutLost = "lost"
	// CutLeft: this daemon shut down while the run went on.
	CutLeft = "left"
)

// CutOffReason is why the gate is closed (CutUnconfirmed, CutLost or
// CutLeft); ask once Leading turned false.
func (e *Elector) CutOffReason() string { return e.t.closedWhy() }

// CutOff records a run that ended after the gate closed under it, for the
// reason CutOffReason gave when it closed: its slot is the next leader's
// to run (by catch-up).
func (e *Elector) CutOff(scheduleID string, slot time.Time, reason string) {
	e.met.cutOff.WithLabelValues(reason).Inc()
	e.log.Warn("cluster: a run ended after this daemon stopped leading; the next leader's catch-up runs its slot",
		"schedule_id", scheduleID, "slot", slot.UTC().Format(time.RFC3339), "reason", reason)
}

// InGroup reports whether the daemon has reached the API server within the
// lease duration: a follower in contact is a member as much as the leader.
func (e *Elector) InGroup() bool {
	return e.Ready() == nil
}

// Ready is nil while the last call to the API server succeeded less than
// a lease duration ago (for /readyz).
func (e *Elector) Ready() error {
	e.t.mu.Lock()
	lastOK, lastErr := e.t.lastOK, e.t.lastErr
	e.t.mu.Unlock()
	if lastOK.IsZero() || time.Since(lastOK) > e.opts.LeaseDuration {
		msg := fmt.Sprintf("not in the group of Lease %s/%s (Kubernetes API unreachable)", e.opts.Namespace, e.opts.Name)
		if lastErr != nil {
			return fmt.Errorf("%s: %w", msg, lastErr)
		}
		return errors.New(msg)
	}
	return nil
}

// Follow runs a catch-up pass each time this daemon starts leading, once
// its gate is open, until ctx ends: catchUp gets every schedule with its
// known runs (Options.LastRuns), and the scheduler runs the interrupted
// slot again or the newest due slot after the finished run, through Claim
// (schedule.Scheduler.CatchUp). retry is how often it looks whether the
// gate opened.
func (e *Elector) Follow(ctx context.Context, retry time.Duration, catchUp func(scheduleID string, finished, interrupted time.Time)) {
	if e.opts.LastRuns == nil {
		<-ctx.Done()
		return
	}
	poll := min(retry, e.opts.RetryPeriod)
	if poll <= 0 {
		poll = e.opts.RetryPeriod
	}
	for {
		e.mu.Lock()
		started, leading := e.started, e.leading
		e.mu.Unlock()
		if !leading {
			select {
			case <-ctx.Done():
				return
			case <-started:
			}
		}
		// Wait for the gate (a created Lease holds it closed a while).
		for !e.Leading() {
			e.mu.Lock()
			leading = e.leading
			e.mu.Unlock()
			if !leading {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(poll):
			}
		}
		if e.Leading() {
			for _, id := range e.opts.Schedules() {
				if ctx.Err() != nil {
					return
				}
				finished, interrupted := e.opts.LastRuns(id)
				catchUp(id, finished, interrupted)
			}
		}
		// Wait for this term to end.
		for {
			e.mu.Lock()
			leading = e.leading
			e.mu.Unlock()
			if !leading {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(poll):
			}
		}
	}
}

// Close stops campaigning: the gate closes, and a held Lease is released so
// that another candidate takes it over at once. Call it once the engine has
// stopped.
func (e *Elector) Close() error {
	e.t.close(CutLeft)
	e.cancel()
	<-e.done
	return nil
}
