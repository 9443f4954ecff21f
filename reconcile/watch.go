package reconcile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchOptions tune Run.
type WatchOptions struct {
	Debounce time.Duration // default 250 ms
	Resync   time.Duration // periodic reload; default 5 min; <0 disables
	Settle   time.Duration // stable-content check interval; default 50 ms
	// MaxWait bounds how long a burst of changes can postpone a reload: a
	// file written without pause is still reloaded (and rejected if it is
	// half-written) at least this often. Default 5 s.
	MaxWait time.Duration
	// Rewatch is how often a directory that cannot be watched (missing at
	// start, or removed) is tried again. Default 5 s.
	Rewatch time.Duration
}

// Trigger asks Run for a reload (e.g. on SIGHUP). Bursts coalesce.
func (r *Reconciler) Trigger(reason string) {
	select {
	case r.trigger <- reason:
	default:
	}
}

// Run watches the file's directory and reloads on changes, on Trigger and
// on a timer, until ctx is done. Watching the directory (not the file)
// survives editors that replace the file and Kubernetes' symlink swaps.
func (r *Reconciler) Run(ctx context.Context, o WatchOptions) error {
	if o.Debounce <= 0 {
		o.Debounce = 250 * time.Millisecond
	}
	if o.Resync == 0 {
		o.Resync = 5 * time.Minute
	}
	if o.Settle <= 0 {
		o.Settle = 50 * time.Millisecond
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 5 * time.Second
	}
	if o.Rewatch <= 0 {
		o.Rewatch = 5 * time.Second
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config: %w", err)
	}
	defer w.Close()
	// A directory that is not there yet (a git-sync sidecar creates it
	// later) or goes away is watched again once it is back, and the file
	// reloaded then; triggers and resyncs work meanwhile.
	dir := filepath.Dir(r.opts.Path)
	watching, lost := false, false
	watch := func() {
		if err := w.Add(dir); err != nil {
			if !lost {
				r.log.Warn("cannot watch the config dir; trying again", "dir", dir, "every", o.Rewatch, "err", err)
			}
			lost = true
			return
		}
		watching = true
		if lost {
			lost = false
			r.log.Info("watching the config dir again", "dir", dir)
		}
		// The file may have changed while nobody watched (or between the
		// start-up reload and this watch).
		if r.changedSinceReload() {
			r.Reload(ctx, "watch", false)
		}
	}
	watch()
	rewatch := time.NewTicker(o.Rewatch)
	defer rewatch.Stop()

	var resync <-chan time.Time
	if o.Resync > 0 {
		t := time.NewTicker(o.Resync)
		defer t.Stop()
		resync = t.C
	}
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	pending := false
	var since time.Time // first change of the pending burst
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if filepath.Clean(ev.Name) == filepath.Clean(dir) && ev.Op&(fsnotify.Remove|fsnotify.Rename) != 0 {
				watching, lost = false, true // the watch went with the directory
				continue
			}
			if !r.relevant(ev) {
				continue
			}
			if !pending {
				pending, since = true, time.Now()
			}
			// Each change postpones the reload, but never past MaxWait.
			debounce.Reset(min(o.Debounce, max(time.Until(since.Add(o.MaxWait)), 0)))
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			r.log.Warn("config watch error", "err", err)
		case <-debounce.C:
			if !pending {
				continue
			}
			if time.Since(since) < o.MaxWait && !r.stable(ctx, o.Settle) {
				debounce.Reset(o.Debounce)
				continue
			}
			pending = false
			r.Reload(ctx, "watch", false)
		case reason := <-r.trigger:
			r.Reload(ctx, reason, false)
		case <-resync:
			r.Reload(ctx, "resync", false)
		case <-rewatch.C:
			if !watching {
				watch()
			}
		}
	}
}

// changedSinceReload reports whether the file's content differs from what
// the last reload read (a file that cannot be read counts as empty).
func (r *Reconciler) changedSinceReload() bool {
	data, err := os.ReadFile(r.opts.Path)
	seen := ""
	if err == nil {
		seen = fileDigest(data)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return seen != r.seen
}

// relevant reports whether a directory event may change the file's content:
// the file itself, or (for ConfigMap-style symlink swaps) any entry whose
// change may retarget it, such as "..data".
func (r *Reconciler) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	name := filepath.Base(ev.Name)
	if filepath.Clean(ev.Name) == filepath.Clean(r.opts.Path) {
		return true
	}
	// A symlinked file changes when a symlink in its chain is swapped.
	if fi, err := os.Lstat(r.opts.Path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return len(name) > 1 && name[0] == '.' && name[1] == '.'
	}
	return false
}

// stable reads the file twice, settle apart, and reports whether the content
// stayed the same (a writer is not half-way through).
func (r *Reconciler) stable(ctx context.Context, settle time.Duration) bool {
	a, errA := os.ReadFile(r.opts.Path)
	select {
	case <-ctx.Done():
		return true
	case <-time.After(settle):
	}
	b, errB := os.ReadFile(r.opts.Path)
	if errA != nil || errB != nil {
		return errA != nil && errB != nil // missing both times: let the reload report it
	}
	return bytes.Equal(a, b)
}
