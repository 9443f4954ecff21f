package storage

import (
	"context"
	"log/slog"
	"time"
)

// Sweep timing: the first sweep at start, then hourly; an upload is stale
// once it is older than the longest backup timeout plus SweepMargin (clock
// skew between this host and the S3 service, and a job's last requests).
const (
	SweepInterval = time.Hour
	SweepMargin   = time.Hour
)

// Sweepable is a Store whose leftovers a sweep removes by age (S3).
type Sweepable interface {
	Sweep(ctx context.Context, olderThan time.Duration, now time.Time) (SweepResult, error)
}

var _ Sweepable = (*S3)(nil)

// SweepOptions configure a SweepLoop.
type SweepOptions struct {
	// Stores returns the stores to sweep now, by provider name; stores that
	// are not Sweepable (local) are skipped.
	Stores func(ctx context.Context) (map[string]Store, error)
	// LongestTimeout is the longest time a backup may run now (the largest
	// schedule timeout, at least the default job timeout).
	LongestTimeout func() time.Duration
	Interval       time.Duration // default SweepInterval
	Logger         *slog.Logger
	Now            func() time.Time
}

// SweepLoop aborts stale incomplete multipart uploads of every S3 provider:
// left behind when the service died mid-upload and the abort failed too.
type SweepLoop struct{ o SweepOptions }

// NewSweepLoop returns a loop; Run starts it.
func NewSweepLoop(o SweepOptions) *SweepLoop {
	if o.Interval <= 0 {
		o.Interval = SweepInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Logger = o.Logger.With("component", "storage-sweep")
	return &SweepLoop{o: o}
}

// Run sweeps at once, then every Interval, until ctx ends.
func (l *SweepLoop) Run(ctx context.Context) {
	t := time.NewTicker(l.o.Interval)
	defer t.Stop()
	for {
		l.Once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once sweeps every store one time. Failures are logged; the next sweep
// tries again.
func (l *SweepLoop) Once(ctx context.Context) {
	stores, err := l.o.Stores(ctx)
	if err != nil {
		l.o.Logger.Warn("storage sweep: list providers", "err", err)
		return
	}
	olderThan := l.o.LongestTimeout() + SweepMargin
	for name, st := range stores {
		sw, ok := st.(Sweepable)
		if !ok {
			continue
		}
		res, err := sw.Sweep(ctx, olderThan, l.o.Now())
		if err != nil {
			l.o.Logger.Warn("storage sweep failed", "provider", name, "err", err)
			continue
		}
		if res.Aborted > 0 || res.Failed > 0 {
			l.o.Logger.Info("storage sweep", "provider", name, "incomplete_uploads", res.Found,
				"aborted", res.Aborted, "abort_failed", res.Failed, "older_than_seconds", olderThan.Seconds())
		}
	}
}
