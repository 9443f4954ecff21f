package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/netguard"
	"github.com/jagad/jagad/engine/notify"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// defaultJobTimeout is the engine's timeout of a backup without its own.
const defaultJobTimeout = 6 * time.Hour

// outbound holds what the daemon's outgoing connections share: one network
// guard for notifications and storage, the storage metrics and logger.
type outbound struct {
	notifier *notify.Notifier
	storage  storage.Runtime
}

func outboundFor(c *serveConfig, log *slog.Logger, reg prometheus.Registerer) outbound {
	guard := netguard.New(netguard.Options{Policy: c.netPolicy})
	log.Info("outbound network policy", "allow", c.netPolicy.String())
	return outbound{
		notifier: notify.New(notify.Options{Logger: log.With("component", "engine"), Guard: guard}),
		storage:  storage.Runtime{Logger: log, Metrics: storage.NewMetrics(reg), Guard: guard},
	}
}

// startSweep aborts stale S3 multipart uploads of every provider at start
// and hourly (storage.SweepLoop), on its own context.
func (d *daemon) startSweep(rt storage.Runtime) {
	loop := storage.NewSweepLoop(storage.SweepOptions{
		Stores:         func(context.Context) (map[string]storage.Store, error) { return d.sweepStores(rt) },
		LongestTimeout: d.longestTimeout,
		Logger:         d.log,
	})
	ctx, cancel := context.WithCancel(context.Background())
	d.sweepStop, d.sweepDone = cancel, make(chan struct{})
	go func() {
		defer close(d.sweepDone)
		loop.Run(ctx)
	}()
}

func (d *daemon) stopSweep() {
	if d.sweepStop != nil {
		d.sweepStop()
		<-d.sweepDone
	}
}

// sweepStores opens a Store for every S3-family provider.
func (d *daemon) sweepStores(rt storage.Runtime) (map[string]storage.Store, error) {
	var ps []state.Provider
	err := d.store.View(func(tx *state.Tx) (err error) {
		ps, err = state.List[state.Provider](tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := map[string]storage.Store{}
	for _, p := range ps {
		if p.ProviderType == storage.TypeLocal {
			continue
		}
		st, err := storage.Open(storage.Config{Type: p.ProviderType, Endpoint: p.Endpoint, Region: p.Region,
			Bucket: p.Bucket, Prefix: p.Prefix, AccessKey: p.AccessKey, SecretKey: p.SecretKey.Reveal(),
			PathStyle: p.PathStyle, Name: p.Name, Runtime: rt})
		if err != nil {
			d.log.Warn("storage sweep: skip provider", "provider", p.Name, "err", err)
			continue
		}
		out[p.Name] = st
	}
	return out, nil
}

// longestTimeout is the longest a backup may run now: the largest schedule
// timeout, at least the default job timeout, and at least the age of the
// oldest backup still queued or running (its schedule may be gone or have a
// shorter timeout now), so no upload of a running backup looks stale.
func (d *daemon) longestTimeout() time.Duration {
	longest := defaultJobTimeout
	now := time.Now()
	_ = d.store.View(func(tx *state.Tx) error {
		ss, err := state.List[state.Schedule](tx)
		if err != nil {
			return err
		}
		for _, s := range ss {
			longest = max(longest, time.Duration(s.Timeout))
		}
		bs, err := tx.ListBackups(state.BackupQuery{})
		for _, b := range bs {
			if b.Status == state.StatusRunning || b.Status == state.StatusQueued {
				longest = max(longest, now.Sub(b.CreatedAt))
			}
		}
		return err
	})
	return longest
}
