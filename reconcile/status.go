package reconcile

// The status bookkeeping: what each reload leaves behind (the status, its
// history, the last good file), readiness, and the logs and metrics of a
// reload.

import (
	"errors"
	"time"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// historySize is how many reloads the status keeps.
const historySize = 20

// Status returns a copy of the current status.
func (r *Reconciler) Status() state.ConfigStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.status
	st.History = append([]state.ReloadEntry(nil), r.status.History...)
	return st
}

// LastGood returns the last file that was accepted, or nil.
func (r *Reconciler) LastGood() *config.File {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastGood
}

// errNoConfig is Ready's answer until a configuration is in force. It names
// no detail of the file: the probes that show it are public.
var errNoConfig = errors.New("no valid configuration in force yet: the file was not accepted and no last good config could be restored (see GET /api/config/status)")

// Ready reports whether a configuration is in force: the file's, or the
// last good one restored from the store when the file cannot be used.
// A daemon without one runs nothing the operator declared, so it is not
// ready. A later broken file keeps the last good config and readiness.
func (r *Reconciler) Ready() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastGood == nil {
		return errNoConfig
	}
	return nil
}

// record updates the status, logs and meters one reload. The status is
// written to the store only when something changed, so that an unchanged
// reload writes nothing.
func (r *Reconciler) record(trigger string, start time.Time, digest string, res Result) {
	now := r.opts.Now()
	dur := now.Sub(start)
	st := &r.status
	prevErr, prevHeld := st.LastError, st.Held
	entry := state.ReloadEntry{
		Trigger: trigger, At: now.UTC(), DurationMs: dur.Milliseconds(),
		FileDigest: digest, Result: string(res.Result),
	}
	if res.Plan != nil {
		entry.Summary = res.Plan.Summary()
	}
	persist := false
	switch res.Result {
	case "applied", "unchanged":
		if res.Result == "applied" {
			st.Generation++
			persist = true
		}
		if digest != st.FileDigest {
			persist = true
		}
		t := now.UTC()
		st.LastAppliedAt = &t
		st.FileDigest = digest
		st.GitCommit = r.gitCommit(digest)
		st.Summary = entry.Summary
		st.LastError, st.Held, st.Healthy = "", "", true
	case "held":
		st.Held = "prune guard"
		st.LastError = res.Err.Error()
		st.Healthy = false
	default:
		st.LastError = res.Err.Error()
		st.Healthy = false
	}
	if st.LastError != prevErr || st.Held != prevHeld {
		persist = true
	}
	entry.Generation = st.Generation
	entry.GitCommit = st.GitCommit
	if res.Err != nil {
		entry.Error = res.Err.Error()
	}
	t := now.UTC()
	st.LastReloadAt = &t
	st.DurationMs = entry.DurationMs
	st.History = append([]state.ReloadEntry{entry}, st.History...)
	if len(st.History) > historySize {
		st.History = st.History[:historySize]
	}
	var good *state.LastGoodConfig
	if res.Err == nil && r.accepted != nil && digest != r.goodDigest {
		good = &state.LastGoodConfig{Content: state.Secret(r.accepted), Digest: digest}
		persist = true
	}
	if persist {
		snapshot := *st
		err := r.opts.Store.Update(func(tx *state.Tx) error {
			if good != nil {
				if err := tx.PutLastGoodConfig(*good); err != nil {
					return err
				}
			}
			return tx.PutConfigStatus(snapshot)
		})
		switch {
		case err != nil:
			r.log.Error("store config status", "err", err)
		case good != nil:
			r.goodDigest = good.Digest
		}
	}
	if res.Err != nil && r.lastGood == nil && !r.restored {
		r.restored = true
		r.restoreLastGood()
	}
	r.opts.Metrics.observe(res, st.Generation, now)
	r.logResult(trigger, dur, res)
	if res.Err == nil && r.opts.OnApplied != nil && r.lastGood != nil {
		r.opts.OnApplied(r.lastGood)
	}
	if res.Err != nil && r.opts.OnFailed != nil {
		r.opts.OnFailed(res.Err)
	}
}

// restoreLastGood makes the stored last good file the running one when the
// daemon starts with a file it cannot use: its records are in the store
// already, and this brings back what lives only in the file (encryption
// keys, the metrics token). Called with r.mu held.
func (r *Reconciler) restoreLastGood() {
	var good state.LastGoodConfig
	err := r.opts.Store.View(func(tx *state.Tx) (err error) {
		good, err = tx.LastGoodConfig()
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return // never had a good file: nothing to keep running
	}
	if err != nil {
		r.log.Error("read the last good config", "err", err)
		return
	}
	f, rep := config.Parse(r.opts.Path, []byte(good.Content.Reveal()), r.loadOptions())
	if err := rep.Err(); err != nil {
		r.log.Error("the stored last good config no longer loads either; running on the stored records only", "err", err)
		return
	}
	r.lastGood = f
	r.log.Warn("running on the last good config stored before this start, until the file is fixed", "digest", good.Digest)
	if r.opts.OnApplied != nil {
		r.opts.OnApplied(f)
	}
}

func (r *Reconciler) logResult(trigger string, dur time.Duration, res Result) {
	attrs := []any{"trigger", trigger, "result", res.Result, "duration", dur.Round(time.Microsecond)}
	if res.Plan != nil {
		attrs = append(attrs, "plan", res.Plan.Summary())
	}
	switch {
	case res.Err != nil:
		r.log.Error("config reload failed", append(attrs, "err", res.Err)...)
	case res.Result == "applied":
		for _, it := range res.Plan.Items {
			if it.Action != Unchanged {
				r.log.Info("config change", "action", it.Action, "kind", it.Kind, "name", it.Name, "fields", it.Fields)
			}
		}
		r.log.Info("config applied", attrs...)
	default:
		r.log.Debug("config unchanged", attrs...)
	}
}
