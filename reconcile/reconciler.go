// Package reconcile keeps the store in step with jagad.yaml: it loads and
// validates the file, plans the difference per kind in dependency order, and
// applies the whole plan in one transaction. An invalid, missing or
// unreadable file keeps the last good configuration running.
package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// Options configure a Reconciler.
type Options struct {
	Path    string // the jagad.yaml to follow
	Store   *state.Store
	Logger  *slog.Logger
	Now     func() time.Time
	Env     func(string) (string, bool) // nil: os.LookupEnv
	Metrics *Metrics                    // nil: no metrics
	// OnApplied is called after a file was accepted (applied or unchanged),
	// with the file, e.g. to hand the encryption keyring to the engine.
	OnApplied func(*config.File)
	// OnFailed is called when a reload fails (e.g. to send config.failed).
	OnFailed func(error)
	// SettleWindow is how long the file must keep the same size, mtime and
	// digest before a plan that prunes records is applied; plans without
	// prunes apply at once. Default 1 s.
	SettleWindow time.Duration
	// SettleMax bounds the wait for a stable file; a file that keeps
	// changing fails the reload. Default 30 s.
	SettleMax time.Duration
	// ProcessKey tells that a backup key comes from the process
	// (JAGAD_ENCRYPTION_KEY) rather than the file: the file's schedules
	// then default to encryption_enabled: true, as with keys in the file.
	ProcessKey bool
}

// Result is the outcome of one reload.
type Result struct {
	Plan   *Plan
	Result Outcome
	Err    error
}

// Reconciler applies jagad.yaml to the store. Reloads are serialised.
type Reconciler struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex // serialises reloads and guards the fields below
	status   state.ConfigStatus
	lastGood *config.File
	// accepted is the text of the file the last successful reload read;
	// goodDigest the digest of the text stored as the last good config.
	accepted   []byte
	goodDigest string
	seen       string            // digest of what the last reload read; "" when it could not read the file
	restored   bool              // restoreLastGood ran (it runs once)
	gitCache   map[string]string // file digest → clean commit
	notGitTree bool              // the file's directory is not in a git work tree

	// changes signals writes to the kinds a plan reads. quiet is the last
	// plan that changed nothing; while no such write happened since it was
	// computed, the same file plans to the same no-op without reading the store.
	changes <-chan struct{}
	quiet   *quietPlan

	trigger chan string
}

// quietPlan is a plan without changes and the file it was computed from.
type quietPlan struct {
	file *config.File
	plan *Plan
}

// plannedKinds are the kinds a plan reads.
var plannedKinds = []state.Kind{
	state.KindSettings, state.KindProvider, state.KindConnection,
	state.KindDatabase, state.KindNotification, state.KindSchedule,
	state.KindToken,
}

// New returns a reconciler; it restores its status from the store.
func New(opts Options) (*Reconciler, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Env == nil {
		opts.Env = os.LookupEnv
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SettleWindow <= 0 {
		opts.SettleWindow = defaultSettleWindow
	}
	if opts.SettleMax <= 0 {
		opts.SettleMax = defaultSettleMax
	}
	r := &Reconciler{
		opts:     opts,
		log:      opts.Logger.With("component", "reconcile"),
		gitCache: map[string]string{},
		trigger:  make(chan string, 1),
	}
	// The subscription lives as long as the store; it holds no goroutine.
	r.changes, _ = opts.Store.Subscribe(plannedKinds...)
	err := opts.Store.View(func(tx *state.Tx) error {
		st, err := tx.ConfigStatus()
		r.status = st
		if err != nil {
			return err
		}
		good, err := tx.LastGoodConfig()
		r.goodDigest = good.Digest
		if errors.Is(err, state.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return nil, fmt.Errorf("read config status: %w", err)
	}
	r.status.Path = opts.Path
	return r, nil
}

func (r *Reconciler) loadOptions() config.Options {
	return config.Options{LookupEnv: r.opts.Env, Resolve: true}
}

// plan computes the plan of f against the store as seen by tx and applies
// the prune guard.
func (r *Reconciler) plan(tx *state.Tx, f *config.File) (*Plan, error) {
	cur, err := tx.Settings()
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	d, err := buildDesired(f, cur, r.opts.ProcessKey)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", f.Expansions.RedactError(err))
	}
	p, err := compute(tx, d, r.opts.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("plan: %w", f.Expansions.RedactError(err))
	}
	p.showAsWritten(f)
	if _, mass := p.pruneGuard(); mass && !f.AllowMassPrune {
		p.Held = "prune guard"
	}
	return p, nil
}

// guardTrip is what the prune guard counted. Both numbers count the same
// set: file-managed records other than settings. Prunes of settings keys and
// of API-made records that go with a pruned connection are not counted.
type guardTrip struct {
	kind           string // the kind that tripped the per-kind rule; "" when only the total did
	prunes, of     int    // of kind (or in all when kind is "")
	total, managed int    // in all
}

func (g guardTrip) String() string {
	all := fmt.Sprintf("%d of %d file-managed records", g.total, g.managed)
	if g.kind == "" {
		return "the plan would delete " + all
	}
	return fmt.Sprintf("the plan would delete %d of %d file-managed %s records (%s in all)", g.prunes, g.of, g.kind, all)
}

// pruneGuard reports whether the plan would delete more than half (and at
// least 3) of the file-managed records, in all or of one kind. The check per
// kind catches a truncated file: schedules come last, so a cut file loses
// most of its schedules while the other kinds keep the total above half.
// When a kind trips the rule, the counts name the kind with the most prunes.
func (p *Plan) pruneGuard() (guardTrip, bool) {
	g := guardTrip{managed: p.FileManaged}
	byKind := map[string]int{}
	for _, it := range p.Items {
		if it.Action == Prune && it.Kind != "setting" && it.Cascade == "" {
			g.total++
			byKind[it.Kind]++
		}
	}
	mass := g.total >= 3 && g.total*2 > g.managed
	kinds := make([]string, 0, len(byKind))
	for kind := range byKind {
		kinds = append(kinds, kind)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		k := byKind[kind]
		if k >= 3 && k*2 > p.kindManaged[kind] && k > g.prunes {
			g.kind, g.prunes, g.of = kind, k, p.kindManaged[kind]
		}
	}
	return g, mass || g.kind != ""
}

// errHeld aborts the apply transaction of a plan held by the prune guard.
var errHeld = errors.New("held by the prune guard")

// Reload reads the file, plans and applies it. trigger names the cause
// (start, watch, sighup, resync, api). A plan held by the prune guard is
// applied only when confirmPrune is set. A plan that prunes records is
// applied only from a file that has been stable for the settle window: the
// reload waits for that, reads the file again and plans anew.
func (r *Reconciler) Reload(ctx context.Context, trigger string, confirmPrune bool) Result {
	start := r.opts.Now()
	var settled *fileState
	var deadline time.Time
	for {
		res, digest, done := r.attempt(ctx, trigger, start, confirmPrune, settled)
		if done {
			return res
		}
		if settled == nil {
			deadline = time.Now().Add(r.opts.SettleMax)
			r.log.Info("the plan prunes records: applying it once the file has been stable",
				"prunes", res.Plan.Count(Prune), "window", r.opts.SettleWindow)
		}
		fs, err := r.settle(ctx, deadline)
		if err != nil {
			r.mu.Lock()
			defer r.mu.Unlock()
			res = Result{Result: "failed", Err: err} // the plan read was never applied
			r.record(trigger, start, digest, res)
			return res
		}
		settled = &fs
	}
}

// attempt runs one reload and returns the digest of the file it read. It
// reports false, recording nothing, when the plan prunes records and the
// file read is not the settled one.
func (r *Reconciler) attempt(ctx context.Context, trigger string, start time.Time, confirmPrune bool, settled *fileState) (Result, string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, digest := r.reload(ctx, confirmPrune, settled)
	if errors.Is(res.Err, errUnsettled) {
		return res, digest, false
	}
	r.record(trigger, start, digest, res)
	return res, digest, true
}

func fileDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// reload reads, plans and applies the file once. settled is the state of a
// file found stable for the settle window, or nil; a plan that prunes is
// applied only when the file read is that state (errUnsettled otherwise).
func (r *Reconciler) reload(ctx context.Context, confirmPrune bool, settled *fileState) (Result, string) {
	data, fs, err := readFile(r.opts.Path)
	if err != nil {
		r.seen = ""
		return Result{Result: "failed", Err: fmt.Errorf("read %s: %w (keeping the last good config)", r.opts.Path, err)}, ""
	}
	digest := fs.digest
	r.seen = digest
	if err := ctx.Err(); err != nil {
		return Result{Result: "failed", Err: err}, digest
	}
	f, rep := config.Parse(r.opts.Path, data, r.loadOptions())
	if err := rep.Err(); err != nil {
		return Result{Result: "failed", Err: err}, digest
	}
	// Drain the change feed before the plan reads the store: a write from
	// now on leaves a signal for the next reload.
	if r.storeChanged() || r.quiet == nil || !reflect.DeepEqual(r.quiet.file, f) {
		r.quiet = nil
	} else {
		r.lastGood, r.accepted = f, data
		return Result{Plan: r.quiet.plan.clone(), Result: "unchanged"}, digest
	}
	// Plan and apply in one transaction, so that the plan applied is the diff
	// against the state it is written to (a conflicting write makes the store
	// run it again). A plan without changes commits nothing.
	var p *Plan
	err = r.opts.Store.Update(func(tx *state.Tx) error {
		var err error
		if p, err = r.plan(tx, f); err != nil {
			return err
		}
		if p.Count(Prune) > 0 && (settled == nil || !settled.same(fs)) && !r.unwrittenFor(fs, time.Now()) {
			return errUnsettled
		}
		if p.Held != "" && !confirmPrune {
			return errHeld
		}
		for _, w := range p.writes {
			if err := w(tx); err != nil {
				return fmt.Errorf("apply: %w", err)
			}
		}
		if p.Changes() == 0 {
			return nil
		}
		// The new generation commits with the records it describes, so a
		// crash before record() cannot pair new records with an old status.
		st := r.status
		st.Generation++
		st.FileDigest = digest
		return tx.PutConfigStatus(st)
	})
	switch {
	case errors.Is(err, errUnsettled):
		return Result{Plan: p, Err: err}, digest
	case errors.Is(err, errHeld):
		trip, _ := p.pruneGuard()
		return Result{Plan: p, Result: "held", Err: fmt.Errorf("held by the prune guard: %s; confirm with POST /api/config/reload?confirm_prune=true or set allow_mass_prune: true", trip)}, digest
	case err != nil:
		return Result{Plan: p, Result: "failed", Err: err}, digest
	}
	p.Held = ""
	r.lastGood, r.accepted = f, data
	if p.Changes() == 0 {
		r.quiet = &quietPlan{file: f, plan: p.clone()}
		return Result{Plan: p, Result: "unchanged"}, digest
	}
	return Result{Plan: p, Result: "applied"}, digest
}

// storeChanged drains the change feed and reports whether a planned kind
// was written since the last call.
func (r *Reconciler) storeChanged() bool {
	select {
	case <-r.changes:
		return true
	default:
		return false
	}
}
