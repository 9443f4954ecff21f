package k8slease

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// jitterFactor spreads the candidates' attempts to take the Lease: each
// waits RetryPeriod plus up to this many RetryPeriods (client-go's 1.2).
const jitterFactor = 1.2

// The election is client-go's leaderelection, in the same Lease fields so
// that both can share one: a candidate reads the Lease every RetryPeriod;
// it takes a Lease that is missing, released (no holder) or not changed for
// the Lease's duration since this candidate last saw it change, with a
// write conditional on the resourceVersion it read. The holder renews it
// every RetryPeriod, retrying until RenewDeadline after the renewal began,
// then gives up. The gate (term) is kept from the same answers.

// run campaigns term after term until ctx ends, then releases the Lease
// if held.
func (e *Elector) run(ctx context.Context) {
	defer close(e.done)
	for {
		if !e.acquire(ctx) {
			return
		}
		e.setLeading(true)
		e.renew(ctx)
		if ctx.Err() != nil {
			e.release() // the gate closed in Close, before this
		}
		e.setLeading(false)
		if !sleep(ctx, e.opts.RetryPeriod) {
			return
		}
	}
}

// acquire tries until it holds the Lease (true) or ctx ends (false).
func (e *Elector) acquire(ctx context.Context) bool {
	for {
		if e.try(ctx) {
			return true
		}
		wait := e.opts.RetryPeriod + time.Duration(rand.Float64()*jitterFactor*float64(e.opts.RetryPeriod))
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// renew keeps the Lease until a renewal fails for RenewDeadline or ctx
// ends.
func (e *Elector) renew(ctx context.Context) {
	for {
		if !sleep(ctx, e.opts.RetryPeriod) {
			return
		}
		attempt, cancel := context.WithTimeout(ctx, e.opts.RenewDeadline)
		ok := e.try(attempt)
		for !ok && !e.heldByOther() && sleep(attempt, e.opts.RetryPeriod) {
			ok = e.try(attempt)
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch {
		case ok:
		case e.heldByOther(): // the gate closed when it was seen: the term ends now
			e.log.Warn("cluster: the Lease is held by another daemon", "leader", e.observed.Holder)
			return
		default:
			e.log.Warn("cluster: the Lease could not be renewed within the renew deadline",
				"renew_deadline", e.opts.RenewDeadline.String(), "err", e.lastErr())
			return
		}
	}
}

// try reads the Lease and, if this candidate holds it or may take it,
// writes it naming this candidate. true: the write succeeded.
func (e *Elector) try(ctx context.Context) bool {
	now := time.Now()
	cur, err := e.opts.Client.Get(ctx, e.opts.Namespace, e.opts.Name)
	if errors.Is(err, context.Canceled) {
		return false // Close: not an answer from the API server
	}
	if IsNotFound(err) {
		e.report(nil)
		e.t.close(CutLost) // deleted
		return e.create(ctx, now)
	}
	e.report(err)
	if err != nil {
		return false
	}
	if cur.Holder != e.opts.ID {
		e.t.close(CutLost) // held by another, or released
	}
	e.observe(cur, now)
	if cur.Holder != "" && cur.Holder != e.opts.ID &&
		e.observedAt.Add(time.Duration(cur.LeaseDurationSeconds)*time.Second).After(now) {
		return false // another candidate's, and alive
	}
	next := *cur
	next.Record = Record{Holder: e.opts.ID, LeaseDurationSeconds: e.leaseSeconds(),
		AcquireTime: now, RenewTime: now, Transitions: cur.Transitions}
	if cur.Holder == e.opts.ID {
		next.AcquireTime = cur.AcquireTime
	} else {
		next.Transitions++
	}
	start := time.Now()
	written, err := e.opts.Client.Update(ctx, &next)
	e.report(ignoreConflict(err))
	if err != nil {
		return false
	}
	e.t.opened(start, e.opts.RenewDeadline, false)
	e.observe(written, now)
	return true
}

// create makes the missing Lease naming this candidate.
func (e *Elector) create(ctx context.Context, now time.Time) bool {
	start := time.Now()
	l, err := e.opts.Client.Create(ctx, &Lease{Namespace: e.opts.Namespace, Name: e.opts.Name,
		Record: Record{Holder: e.opts.ID, LeaseDurationSeconds: e.leaseSeconds(), AcquireTime: now, RenewTime: now}})
	e.report(ignoreConflict(err))
	if err != nil {
		return false
	}
	e.t.opened(start, e.opts.RenewDeadline, true)
	e.observe(l, now)
	return true
}

// release hands a held Lease back (no holder, one second left) so that a
// standby takes it over at once. It reads the Lease first, as client-go
// does: a renewal cut off by the shutdown may have been written without
// its answer arriving, so the version last seen can be stale. The write is
// conditional on the version read, so a Lease another candidate took
// meanwhile is left alone (a conflict).
func (e *Elector) release() {
	if e.observed == nil || e.observed.Holder != e.opts.ID {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.RenewDeadline)
	defer cancel()
	l, err := e.opts.Client.Get(ctx, e.opts.Namespace, e.opts.Name)
	if err != nil {
		if !IsNotFound(err) {
			e.log.Warn("cluster: reading the Lease to release it failed; a standby takes it over after lease_duration", "err", err)
		}
		return
	}
	if l.Holder != e.opts.ID {
		return // taken over meanwhile
	}
	now := time.Now()
	next := *l
	next.Record = Record{LeaseDurationSeconds: 1, AcquireTime: now, RenewTime: now, Transitions: l.Transitions}
	if _, err := e.opts.Client.Update(ctx, &next); err != nil {
		e.log.Warn("cluster: releasing the Lease failed; a standby takes it over after lease_duration", "err", err)
		return
	}
	e.log.Info("cluster: Lease released")
}

// observe notes the Lease as read or written: when its record last
// changed, as this candidate saw it, and a change of holder.
func (e *Elector) observe(l *Lease, now time.Time) {
	if e.observed == nil || !e.observed.Record.same(l.Record) {
		e.observedAt = now
	}
	e.observed = l
	if l.Holder != e.Leader() {
		e.newLeader(l.Holder)
	}
}

// report records the API server's answer for readiness, and logs a
// failure once until it changes or the server answers again: a denied
// permission or a wrong address shows in the log, not every RetryPeriod.
func (e *Elector) report(err error) {
	e.t.result(err)
	switch {
	case err == nil && e.failing != "":
		e.failing = ""
		e.log.Info("cluster: the Kubernetes API server answers again")
	case err != nil && err.Error() != e.failing:
		e.failing = err.Error()
		e.log.Warn("cluster: the Kubernetes API server refused or could not be reached; retrying every retry_period", "err", err)
	}
}

// heldByOther reports whether the Lease was last seen held by another
// candidate (not released, not missing).
func (e *Elector) heldByOther() bool {
	return e.observed != nil && e.observed.Holder != "" && e.observed.Holder != e.opts.ID
}

func (e *Elector) leaseSeconds() int32 { return int32(e.opts.LeaseDuration / time.Second) }

func (e *Elector) lastErr() error {
	e.t.mu.Lock()
	defer e.t.mu.Unlock()
	return e.t.lastErr
}

// ignoreConflict: losing a race for the Lease is an answer from the API
// server, not a failure to reach it.
func ignoreConflict(err error) error {
	if IsConflict(err) || IsAlreadyExists(err) {
		return nil
	}
	return err
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
