// Package cluster lets several Jagad daemons on one jagad.yaml run as a
// group coordinated through etcd: each daemon holds a session (a lease with
// a TTL, kept alive) and a member key bound to it; every schedule is owned by
// one live member, chosen by rendezvous hashing over the members; before a
// due slot runs, its owner claims it with a transaction (a key bound to its
// lease), and marks it finished in etcd when the run ends, so that a new
// owner skips a finished slot and retries one whose run was cut off.
//
// Fail safe: a member whose lease expired (etcd unreachable for longer
// than the TTL) is out of the group and refuses every claim; a claim is a
// transaction in etcd, so a member that cannot reach etcd cannot claim at
// all. A run still going when its member loses the lease is cut off: every
// claim carries the session's Lost channel, closed before the lease can
// have expired in etcd (see guard) or as soon as it is seen revoked, and
// such a slot is not recorded as finished, so its new owner runs it. Two
// members therefore never run the same slot.
//
// Keys, under /jagad/<group>/:
//
//	members/<id>              the member's ID, bound to its lease
//	claims/<schedule>/<slot>  the member running that slot, bound to its lease
//	started/<schedule>/<slot> the member that claimed that slot, not bound to a
//	                          lease: dropped when the slot is recorded as
//	                          finished, so one left without a claim key is a
//	                          run cut off (its member died or lost its lease)
//	slots/<schedule>          the newest finished slot (Unix seconds, 20 digits;
//	                          the first claim sets it to just before its slot)
//
// Catch-up rule (Follow): a new owner runs, oldest first, every slot whose
// run was cut off after the newest finished one, then the newest due slot
// after those if no member claimed it (a stretch of slots nobody claimed
// runs once, as after a clock jump); never a slot recorded as finished.
package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
)

// Options configure a Member.
type Options struct {
	Endpoints []string
	Group     string        // key prefix /jagad/<group>/
	ID        string        // this member's ID; empty: hostname-pid
	LeaseTTL  time.Duration // default 10 s; whole seconds, at least 2 s
	TLS       *tls.Config   // nil: plain TCP
	Username  string
	Password  string // secret
	Logger    *slog.Logger
	// Registerer gets the jagad_cluster_* metrics (nil: a private registry).
	Registerer prometheus.Registerer
	// Schedules lists the IDs of the stored schedules (for the owned-count
	// metric and ownership changes); nil: none.
	Schedules func() []string
	// CallTimeout bounds one etcd call (default 5 s).
	CallTimeout time.Duration
}

// Member is this daemon's membership in a group.
type Member struct {
	opts   Options
	log    *slog.Logger
	cli    *clientv3.Client
	prefix string
	met    *metrics

	ctx     context.Context // ends at Close
	cancel  context.CancelFunc
	done    chan struct{}
	retries sync.WaitGroup // background attempts to record finished slots

	mu       sync.Mutex
	sess     *concurrency.Session // nil while out of the group
	sessLost *leaseLoss           // sess's lease loss (claims made under it must stop)
	members  []string             // live member IDs, sorted
	owned    map[string]bool      // schedules owned at the last membership change
	changed  chan struct{}        // closed and replaced on every membership change
	lost     bool                 // a claim failed for want of a lease or of etcd since the last catch-up pass
	pending  map[string]bool      // schedules whose slot just finished: look again for missed slots
	kick     chan struct{}        // signals pending (buffered, 1)

	prevLease clientv3.LeaseID // the lease of the last session (only run's goroutine uses it)
}

// Refusal reasons, the label of jagad_cluster_claims_refused_total.
const (
	ReasonNotInGroup = "not_in_group" // no live lease
	ReasonClaimed    = "claimed"      // another member holds the slot
	ReasonFinished   = "finished"     // the slot already ran
	ReasonEtcd       = "etcd_error"   // etcd did not answer
)

// Cut-off reasons, the label of jagad_cluster_runs_cut_off_total: why the
// lease a run was claimed under ended before the run did.
const (
	// CutUnconfirmed: the lease guard gave up because etcd had not
	// confirmed the lease in time (etcd slow or unreachable, or this host
	// too busy to renew it); the lease may still have been alive in etcd:
	// on a busy host these are the false cut-offs.
	CutUnconfirmed = "unconfirmed"
	// CutLost: etcd said the lease or the member key was gone (revoked or
	// expired), or the session's keep-alive ended.
	CutLost = "lost"
	// CutLeft: the member left the group (shutdown) while the run went on.
	CutLeft = "left"
)

// leaseLoss is a session's lease loss: ch closes once, when the lease is
// lost, after reason is set.
type leaseLoss struct {
	ch     chan struct{}
	once   sync.Once
	reason string // one of the Cut* reasons; read only after ch closed
}

// ErrRefused is returned by TryClaim for a slot this member may not run.
var ErrRefused = errors.New("claim refused")

// Join connects to etcd and starts keeping a session and a member key in
// the group. It does not wait for etcd: InGroup reports when the member is
// in. Close leaves the group.
func Join(opts Options) (*Member, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("cluster: no etcd endpoints")
	}
	if opts.Group == "" {
		return nil, errors.New("cluster: no group")
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 10 * time.Second
	}
	if opts.LeaseTTL < 2*time.Second {
		opts.LeaseTTL = 2 * time.Second
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 5 * time.Second
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
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: opts.Endpoints, TLS: opts.TLS, Username: opts.Username, Password: opts.Password,
		DialTimeout: opts.CallTimeout, Logger: zap.NewNop(),
		DialKeepAliveTime: opts.LeaseTTL / 2, DialKeepAliveTimeout: opts.LeaseTTL / 2,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: etcd client: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Member{
		opts: opts, log: opts.Logger.With("component", "cluster", "group", opts.Group, "member", opts.ID),
		cli: cli, prefix: "/jagad/" + opts.Group + "/", ctx: ctx, cancel: cancel, done: make(chan struct{}),
		owned: map[string]bool{}, changed: make(chan struct{}),
		pending: map[string]bool{}, kick: make(chan struct{}, 1),
	}
	m.met = newMetrics(opts.Registerer, m)
	go m.run(ctx)
	return m, nil
}

// ID is this member's ID.
func (m *Member) ID() string { return m.opts.ID }

// Group is the group's name.
func (m *Member) Group() string { return m.opts.Group }

// Close leaves the group (revoking the lease, so the member's share moves
// at once) and closes the client.
func (m *Member) Close() error {
	m.cancel()
	<-m.done
	m.retries.Wait()
	return m.cli.Close()
}

// InGroup reports whether the member holds a live session in the group.
func (m *Member) InGroup() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sess != nil
}

// Ready is nil while the member is in the group (for /readyz).
func (m *Member) Ready() error {
	if !m.InGroup() {
		return fmt.Errorf("not in cluster group %q (etcd unreachable or lease lost)", m.opts.Group)
	}
	return nil
}

// Members returns the live members as this member sees them (sorted); nil
// while it is out of the group.
func (m *Member) Members() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.members...)
}

// Changed returns a channel closed at the next change of the member view.
func (m *Member) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

// Owner is the member owning scheduleID among the live members, or "".
func (m *Member) Owner(scheduleID string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Owner(m.members, scheduleID)
}

// Owns reports whether this member owns scheduleID now.
func (m *Member) Owns(scheduleID string) bool {
	return m.InGroup() && m.Owner(scheduleID) == m.opts.ID
}

// Owner picks scheduleID's owner among members by rendezvous (highest
// random weight) hashing: when a member joins or leaves, only the
// schedules it wins or held move.
func Owner(members []string, scheduleID string) string {
	var best string
	var bestW uint64
	for _, id := range members {
		h := sha256.Sum256([]byte(id + "\x00" + scheduleID))
		w := binary.BigEndian.Uint64(h[:8])
		if best == "" || w > bestW || (w == bestW && id < best) {
			best, bestW = id, w
		}
	}
	return best
}

// run keeps a session in the group until ctx ends.
func (m *Member) run(ctx context.Context) {
	defer close(m.done)
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		err := m.session(ctx)
		m.setOut()
		if ctx.Err() != nil {
			return
		}
		m.log.Warn("cluster: out of the group; rejoining", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < 2*time.Second {
			backoff *= 2
		}
	}
}

// session holds one session: it creates the lease, puts the member key,
// follows the member keys, and returns when the lease is lost or ctx ends.
func (m *Member) session(ctx context.Context) error {
	granted := time.Now() // the lease cannot expire in etcd before granted + TTL
	sess, err := concurrency.NewSession(m.cli, concurrency.WithTTL(int(m.opts.LeaseTTL/time.Second)),
		concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	loss := &leaseLoss{ch: make(chan struct{})}
	lost := loss.ch
	cut := func(reason, why string) {
		loss.once.Do(func() {
			loss.reason = reason
			close(lost)
			if ctx.Err() == nil && m.InGroup() { // not when it never got in (a duplicate ID waiting)
				m.log.Warn("cluster: lease lost: runs under it are cut off", "why", why, "reason", reason)
			}
		})
	}
	gctx, gcancel := context.WithCancel(ctx)
	guarded := make(chan struct{})
	go func() {
		defer close(guarded)
		m.guard(gctx, sess.Lease(), granted, cut)
	}()
	defer func() {
		// Revoke on leave so the share moves at once; a lost lease is gone anyway.
		rctx, cancel := context.WithTimeout(context.Background(), m.opts.CallTimeout)
		defer cancel()
		_, _ = m.cli.Revoke(rctx, sess.Lease())
		sess.Orphan()
	}()
	defer func() { // first, before the revoke: runs under this lease stop at once
		gcancel()
		<-guarded
		if ctx.Err() != nil {
			cut(CutLeft, "left the group")
		} else {
			cut(CutLost, "session ended")
		}
	}()
	if err := m.putMemberKey(ctx, sess.Lease()); err != nil {
		return err
	}
	m.prevLease = sess.Lease()
	for {
		err := m.follow(ctx, sess, loss, cut)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		select {
		case <-sess.Done():
			return errors.New("lease lost (etcd unreachable for longer than the lease TTL?)")
		case <-lost:
			return errors.New("lease lost (not confirmed within its TTL, or revoked)")
		default:
		}
		// A broken watch alone does not end the session: its lease, and the
		// claims of running jobs bound to it, live on. Follow again.
		m.log.Debug("cluster: member watch ended; following again", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-sess.Done():
			return errors.New("lease lost (etcd unreachable for longer than the lease TTL?)")
		case <-lost:
			return errors.New("lease lost (not confirmed within its TTL, or revoked)")
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// guardMargin is how long before the earliest instant etcd may expire the
// lease the guard gives up on it: room for the guard's own wake-up and for
// clocks that tick at slightly different rates.
func guardMargin(ttl time.Duration) time.Duration { return max(500*time.Millisecond, ttl/10) }

// guard confirms the lease itself, every quarter TTL, with a keep-alive of
// its own (besides the session's): a lease refreshed by a request sent at
// t cannot expire in etcd before t + TTL. It calls cut once the lease is
// not confirmed until guardMargin before that instant (etcd unreachable),
// or at once when etcd answers that the lease is gone (revoked or
// expired). The session's own loss detection (its keep-alive channel
// closing) comes only after etcd has expired the lease: too late to stop
// a run before the slot's new owner starts it.
func (m *Member) guard(ctx context.Context, lease clientv3.LeaseID, granted time.Time, cut func(reason, why string)) {
	ttl := m.opts.LeaseTTL
	margin := guardMargin(ttl)
	validUntil := granted.Add(ttl)
	every := ttl / 4
	for {
		wait := min(every, time.Until(validUntil.Add(-margin)))
		if wait <= 0 {
			cut(CutUnconfirmed, fmt.Sprintf("etcd did not confirm the lease within %s of its TTL", margin))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if !time.Now().Before(validUntil.Add(-margin)) {
			cut(CutUnconfirmed, fmt.Sprintf("etcd did not confirm the lease within %s of its TTL", margin))
			return
		}
		sent := time.Now()
		cctx, cancel := context.WithDeadline(ctx, validUntil.Add(-margin))
		resp, err := m.cli.KeepAliveOnce(cctx, lease)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, rpctypes.ErrLeaseNotFound) || (err == nil && resp.TTL <= 0):
			cut(CutLost, "etcd says the lease is gone (revoked or expired)")
			return
		case err == nil:
			validUntil = sent.Add(time.Duration(resp.TTL) * time.Second)
		}
	}
}

// putMemberKey creates the member key bound to lease. A key of this ID
// bound to another lease is another live daemon with the same ID (two
// members must never share one: they would both own the same share), unless
// that lease is this member's own from a session it lost.
func (m *Member) putMemberKey(ctx context.Context, lease clientv3.LeaseID) error {
	mk := m.prefix + "members/" + m.opts.ID
	cctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
	defer cancel()
	resp, err := m.cli.Txn(cctx).If(clientv3.Compare(clientv3.CreateRevision(mk), "=", 0)).
		Then(clientv3.OpPut(mk, m.opts.ID, clientv3.WithLease(lease))).
		Else(clientv3.OpGet(mk)).Commit()
	if err != nil {
		return fmt.Errorf("put member key: %w", err)
	}
	if resp.Succeeded {
		return nil
	}
	var held *mvccKV
	if r := resp.Responses; len(r) == 1 && r[0].GetResponseRange() != nil && len(r[0].GetResponseRange().Kvs) == 1 {
		kv := r[0].GetResponseRange().Kvs[0]
		held = &mvccKV{lease: clientv3.LeaseID(kv.Lease), modRev: kv.ModRevision}
	}
	if held == nil || held.lease != m.prevLease || m.prevLease == 0 {
		return fmt.Errorf("member ID %q is held by another live daemon (the same JAGAD_CLUSTER_MEMBER twice?); waiting for its lease to expire", m.opts.ID)
	}
	resp, err = m.cli.Txn(cctx).If(clientv3.Compare(clientv3.ModRevision(mk), "=", held.modRev)).
		Then(clientv3.OpPut(mk, m.opts.ID, clientv3.WithLease(lease))).Commit()
	if err != nil {
		return fmt.Errorf("put member key: %w", err)
	}
	if !resp.Succeeded {
		return errors.New("member key changed while taking it over")
	}
	return nil
}

// mvccKV is what putMemberKey needs of a held member key.
type mvccKV struct {
	lease  clientv3.LeaseID
	modRev int64
}

// follow lists the member keys and follows their changes until the lease
// is lost (an error), ctx ends (nil) or the watch breaks (an error).
func (m *Member) follow(ctx context.Context, sess *concurrency.Session, loss *leaseLoss, cut func(reason, why string)) error {
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	cctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
	resp, err := m.cli.Get(cctx, m.prefix+"members/", clientv3.WithPrefix())
	cancel()
	if err != nil {
		return fmt.Errorf("list members: %w", err)
	}
	live := map[string]bool{}
	for _, kv := range resp.Kvs {
		live[strings.TrimPrefix(string(kv.Key), m.prefix+"members/")] = true
	}
	if !live[m.opts.ID] {
		cut(CutLost, "this member's key is gone from etcd")
		return errors.New("member key gone")
	}
	wasIn := m.InGroup()
	m.setIn(sess, loss, live)
	if !wasIn {
		m.log.Info("cluster: in the group", "members", len(live), "lease_ttl", m.opts.LeaseTTL.String())
	}
	wch := m.cli.Watch(clientv3.WithRequireLeader(wctx), m.prefix+"members/", clientv3.WithPrefix(),
		clientv3.WithRev(resp.Header.Revision+1))
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sess.Done():
			return errors.New("lease lost")
		case <-loss.ch:
			return errors.New("lease lost")
		case wr, ok := <-wch:
			if !ok {
				return errors.New("member watch closed")
			}
			if err := wr.Err(); err != nil {
				return fmt.Errorf("member watch: %w", err)
			}
			for _, ev := range wr.Events {
				id := strings.TrimPrefix(string(ev.Kv.Key), m.prefix+"members/")
				if ev.Type == clientv3.EventTypeDelete {
					delete(live, id)
				} else {
					live[id] = true
				}
			}
			if !live[m.opts.ID] {
				// Deleted with its lease: revoked, or expired in etcd.
				cut(CutLost, "this member's key was deleted from etcd (lease revoked or expired)")
				return errors.New("member key deleted")
			}
			m.setIn(sess, loss, live)
		}
	}
}

// setIn records a session and the live members, and counts the schedules
// whose ownership by this member changed.
func (m *Member) setIn(sess *concurrency.Session, loss *leaseLoss, live map[string]bool) {
	ids := make([]string, 0, len(live))
	for id := range live {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sess, m.sessLost, m.members = sess, loss, ids
	m.recount()
}

// setOut marks the member out of the group: it owns nothing.
func (m *Member) setOut() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == nil && m.members == nil {
		return
	}
	m.sess, m.sessLost, m.members = nil, nil, nil
	m.recount()
}

// recount updates the owned set, the ownership-change counter and wakes
// Changed waiters. Called with m.mu held.
func (m *Member) recount() {
	owned := map[string]bool{}
	for _, id := range m.opts.Schedules() {
		if m.sess != nil && Owner(m.members, id) == m.opts.ID {
			owned[id] = true
		}
	}
	moved := 0
	for id := range owned {
		if !m.owned[id] {
			moved++
		}
	}
	for id := range m.owned {
		if !owned[id] {
			moved++
		}
	}
	m.met.ownershipChanges.Add(float64(moved))
	if moved > 0 {
		m.log.Info("cluster: ownership changed", "members", strings.Join(m.members, ","),
			"schedules_owned", len(owned), "schedules_moved", moved)
	}
	m.owned = owned
	close(m.changed)
	m.changed = make(chan struct{})
}

// ownedNow counts the stored schedules this member owns now.
func (m *Member) ownedNow() int {
	ids := m.opts.Schedules()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == nil {
		return 0
	}
	n := 0
	for _, id := range ids {
		if Owner(m.members, id) == m.opts.ID {
			n++
		}
	}
	return n
}

// lease is the current session's lease and its loss, or false out of the
// group.
func (m *Member) lease() (clientv3.LeaseID, *leaseLoss, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == nil {
		return 0, nil, false
	}
	return m.sess.Lease(), m.sessLost, true
}

// slotKey formats a slot so that byte order is time order.
func slotKey(slot time.Time) string { return fmt.Sprintf("%020d", slot.Unix()) }

func (m *Member) claimKey(scheduleID string, slot time.Time) string {
	return m.prefix + "claims/" + scheduleID + "/" + slotKey(slot)
}

func (m *Member) doneKey(scheduleID string) string { return m.prefix + "slots/" + scheduleID }

func (m *Member) startedKey(scheduleID string, slot time.Time) string {
	return m.prefix + "started/" + scheduleID + "/" + slotKey(slot)
}

// Claimed is a slot this member won.
type Claimed struct {
	// Release must be called once when the run has ended: it records the
	// slot as finished, unless Lost closed before (the run was cut off; the
	// slot's new owner runs it).
	Release func()
	// Lost closes when the member's lease is lost: the claim is gone with
	// it, and the run must stop at once.
	Lost <-chan struct{}
	// Abandon, instead of Release, gives the slot up without recording it
	// as finished (a catch-up that could not start because a run of the
	// schedule was still going): a later catch-up pass runs it.
	Abandon func()
}

// Claim is the scheduler's question "may I run this slot?": it is true
// only when this member is in the group, owns the schedule, the slot has
// not run and this member won the slot's claim key. release must be called
// once when the run has ended: it records the slot as finished. A
// non-owner's refusal is silent; the others are counted and logged.
func (m *Member) Claim(scheduleID string, slot time.Time) (release func(), ok bool) {
	c, ok := m.ClaimSlot(scheduleID, slot)
	return c.Release, ok
}

// ClaimSlot is Claim with the channel that closes when the claim is lost.
func (m *Member) ClaimSlot(scheduleID string, slot time.Time) (Claimed, bool) {
	if !m.InGroup() {
		m.refused(scheduleID, slot, ReasonNotInGroup, nil)
		return Claimed{}, false
	}
	if m.Owner(scheduleID) != m.opts.ID {
		return Claimed{}, false
	}
	c, err := m.TryClaimSlot(scheduleID, slot)
	if err != nil {
		return Claimed{}, false
	}
	return c, true
}

// TryClaim claims a slot whatever the ownership: one transaction that
// puts the claim key bound to this member's lease if no member holds it
// and the slot is newer than the newest finished one.
func (m *Member) TryClaim(scheduleID string, slot time.Time) (release func(), err error) {
	c, err := m.TryClaimSlot(scheduleID, slot)
	return c.Release, err
}

// TryClaimSlot is TryClaim with the channel that closes when the claim is
// lost.
func (m *Member) TryClaimSlot(scheduleID string, slot time.Time) (Claimed, error) {
	lease, loss, ok := m.lease()
	if !ok {
		m.refused(scheduleID, slot, ReasonNotInGroup, nil)
		return Claimed{}, fmt.Errorf("%w: %s", ErrRefused, ReasonNotInGroup)
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.CallTimeout)
	defer cancel()
	ck, dk := m.claimKey(scheduleID, slot), m.doneKey(scheduleID)
	got, err := m.cli.Get(ctx, dk)
	if err != nil {
		m.refused(scheduleID, slot, ReasonEtcd, err)
		return Claimed{}, fmt.Errorf("%w: read slot record: %v", ErrRefused, err)
	}
	var doneRev int64
	if len(got.Kvs) > 0 {
		doneRev = got.Kvs[0].ModRevision
		if string(got.Kvs[0].Value) >= slotKey(slot) {
			m.refused(scheduleID, slot, ReasonFinished, nil)
			return Claimed{}, fmt.Errorf("%w: %s", ErrRefused, ReasonFinished)
		}
	}
	then := []clientv3.Op{clientv3.OpPut(ck, m.opts.ID, clientv3.WithLease(lease)),
		clientv3.OpPut(m.startedKey(scheduleID, slot), m.opts.ID)}
	if doneRev == 0 {
		// The group's first slot of this schedule: its record starts just
		// before it, so a slot cut off now is caught up like any other.
		then = append(then, clientv3.OpPut(dk, slotKey(slot.Add(-time.Second))))
	}
	resp, err := m.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.CreateRevision(ck), "=", 0),
		clientv3.Compare(clientv3.ModRevision(dk), "=", doneRev),
	).Then(then...).Else(clientv3.OpGet(ck)).Commit()
	if err != nil {
		m.refused(scheduleID, slot, ReasonEtcd, err)
		return Claimed{}, fmt.Errorf("%w: claim: %v", ErrRefused, err)
	}
	if !resp.Succeeded {
		if r := resp.Responses; len(r) == 1 && r[0].GetResponseRange() != nil {
			if kvs := r[0].GetResponseRange().Kvs; len(kvs) == 1 && string(kvs[0].Value) == m.opts.ID {
				// This member runs the slot already (a catch-up pass met its own run).
				return Claimed{}, fmt.Errorf("%w: %s by this member", ErrRefused, ReasonClaimed)
			}
		}
		m.refused(scheduleID, slot, ReasonClaimed, nil)
		return Claimed{}, fmt.Errorf("%w: %s", ErrRefused, ReasonClaimed)
	}
	lost := loss.ch
	select {
	case <-lost: // lost while claiming: the claim went with the lease
		m.refused(scheduleID, slot, ReasonNotInGroup, nil)
		return Claimed{}, fmt.Errorf("%w: %s", ErrRefused, ReasonNotInGroup)
	default:
	}
	m.met.claims.Inc()
	var once sync.Once
	release := func() {
		once.Do(func() {
			select {
			case <-lost:
				m.met.cutOff.WithLabelValues(loss.reason).Inc()
				m.log.Warn("cluster: a run ended after its lease was lost; its slot is not recorded as finished: the slot's new owner runs it",
					"schedule_id", scheduleID, "slot", slot.UTC().Format(time.RFC3339), "reason", loss.reason)
			default:
				m.finish(scheduleID, slot)
			}
		})
	}
	abandon := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), m.opts.CallTimeout)
			defer cancel()
			if _, err := m.cli.Delete(ctx, ck); err != nil {
				m.log.Warn("cluster: give up a claim", "schedule_id", scheduleID, "slot", slot.UTC().Format(time.RFC3339), "err", err)
			}
			m.mu.Lock()
			m.lost = true // the next retry interval looks again
			m.mu.Unlock()
		})
	}
	return Claimed{Release: release, Lost: lost, Abandon: abandon}, nil
}

// finishRetryFor bounds how long a member keeps trying to record a
// finished slot while etcd is unreachable.
const finishRetryFor = 10 * time.Minute

// finish records slot as the newest finished one of scheduleID (unless a
// newer one is recorded) and drops the claim key. When etcd does not answer
// it keeps trying in the background (every 2 s, for up to 10 minutes, until
// Close), so that a run that ended during an outage is not run again.
func (m *Member) finish(scheduleID string, slot time.Time) {
	err := m.recordFinished(scheduleID, slot)
	if err == nil {
		m.lookAgain(scheduleID)
		return
	}
	m.log.Warn("cluster: record finished slot; retrying in the background", "schedule_id", scheduleID,
		"slot", slot.UTC().Format(time.RFC3339), "err", err)
	m.retries.Add(1)
	go func() {
		defer m.retries.Done()
		deadline := time.Now().Add(finishRetryFor)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for time.Now().Before(deadline) {
			select {
			case <-m.ctx.Done():
				m.log.Error("cluster: leaving with a finished slot not recorded; a new owner may run it again",
					"schedule_id", scheduleID, "slot", slot.UTC().Format(time.RFC3339))
				return
			case <-t.C:
			}
			if err := m.recordFinished(scheduleID, slot); err == nil {
				m.log.Info("cluster: finished slot recorded", "schedule_id", scheduleID, "slot", slot.UTC().Format(time.RFC3339))
				m.lookAgain(scheduleID)
				return
			}
		}
		m.log.Error("cluster: could not record a finished slot; a new owner may run it again",
			"schedule_id", scheduleID, "slot", slot.UTC().Format(time.RFC3339))
	}()
}

// recordFinished is one attempt of finish.
func (m *Member) recordFinished(scheduleID string, slot time.Time) error {
	ck, dk, sk := m.claimKey(scheduleID, slot), m.doneKey(scheduleID), slotKey(slot)
	started := m.startedKey(scheduleID, slot)
	for attempt := 0; attempt < 3; attempt++ { // a concurrent update of the record: read again
		ctx, cancel := context.WithTimeout(context.Background(), m.opts.CallTimeout)
		got, err := m.cli.Get(ctx, dk)
		if err != nil {
			cancel()
			return err
		}
		var rev int64
		if len(got.Kvs) > 0 {
			rev = got.Kvs[0].ModRevision
			if string(got.Kvs[0].Value) >= sk {
				_, err = m.cli.Txn(ctx).Then(clientv3.OpDelete(ck), clientv3.OpDelete(started)).Commit()
				cancel()
				return err
			}
		}
		resp, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(dk), "=", rev)).
			Then(clientv3.OpPut(dk, sk), clientv3.OpDelete(ck), clientv3.OpDelete(started)).Commit()
		cancel()
		if err != nil {
			return err
		}
		if resp.Succeeded {
			return nil
		}
	}
	return errors.New("the slot record keeps changing")
}

// lookAgain asks Follow for a catch-up pass over one schedule (its slot
// just finished: a slot missed meanwhile may now run).
func (m *Member) lookAgain(scheduleID string) {
	m.mu.Lock()
	m.pending[scheduleID] = true
	m.mu.Unlock()
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// CatchUpFunc runs a schedule's missed slot, if one is due: interrupted,
// when not zero, is the oldest slot after finished whose run was cut off,
// to run first; else the newest due slot after finished runs (see
// schedule.Scheduler.CatchUp).
type CatchUpFunc func(scheduleID string, finished, interrupted time.Time)

// Follow runs catch-up passes until ctx ends: after each change of the
// group's members (a member joined or left, or this one rejoined); every
// retry interval, after a claim failed for want of a lease or of etcd (and
// once at the first interval); and for one schedule after each of its
// slots finished here. A pass calls catchUp for every schedule this member
// owns with the newest finished slot and the oldest cut-off one after it.
func (m *Member) Follow(ctx context.Context, retry time.Duration, catchUp CatchUpFunc) {
	if retry <= 0 {
		retry = 10 * time.Second
	}
	t := time.NewTicker(retry)
	defer t.Stop()
	// A first pass once in the group: the join may have come before Follow.
	m.mu.Lock()
	m.lost = true
	m.mu.Unlock()
	for {
		changed := m.Changed()
		var only map[string]bool // nil: every owned schedule
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-m.kick:
			m.mu.Lock()
			only, m.pending = m.pending, map[string]bool{}
			m.mu.Unlock()
		case <-t.C:
			m.mu.Lock()
			lost := m.lost
			m.mu.Unlock()
			if !lost {
				continue
			}
		}
		if !m.InGroup() {
			continue
		}
		if only == nil {
			m.mu.Lock()
			m.lost = false
			m.mu.Unlock()
		}
		m.catchUpPass(ctx, only, catchUp)
	}
}

// catchUpPass calls catchUp for every schedule this member owns (of only,
// when not nil).
func (m *Member) catchUpPass(ctx context.Context, only map[string]bool, catchUp CatchUpFunc) {
	for _, id := range m.opts.Schedules() {
		if ctx.Err() != nil {
			return
		}
		if (only != nil && !only[id]) || !m.Owns(id) {
			continue
		}
		last, cut, err := m.missed(ctx, id)
		if err != nil {
			m.log.Warn("cluster: catch-up pass", "schedule_id", id, "err", err)
			m.mu.Lock()
			m.lost = true
			m.mu.Unlock()
			return
		}
		catchUp(id, last, cut)
	}
}

// missed reads, in one transaction, a schedule's newest finished slot and
// its started and claimed slots. It returns the newest finished slot and
// the oldest slot after it that was started but is no longer claimed (its
// run was cut off; zero if none), and drops the started marks of cut-off
// slots a newer finished one made moot.
func (m *Member) missed(ctx context.Context, scheduleID string) (finished, cut time.Time, err error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
	defer cancel()
	sp, cp := m.prefix+"started/"+scheduleID+"/", m.prefix+"claims/"+scheduleID+"/"
	resp, err := m.cli.Txn(ctx).Then(
		clientv3.OpGet(m.doneKey(scheduleID)),
		clientv3.OpGet(sp, clientv3.WithPrefix(), clientv3.WithKeysOnly()),
		clientv3.OpGet(cp, clientv3.WithPrefix(), clientv3.WithKeysOnly()),
	).Commit()
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("read slot records: %w", err)
	}
	r := resp.Responses
	done := ""
	if kvs := r[0].GetResponseRange().Kvs; len(kvs) > 0 {
		done = string(kvs[0].Value)
		if finished, err = parseSlot(done); err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("slot record of %s: %w", scheduleID, err)
		}
	}
	claimed := map[string]bool{}
	for _, kv := range r[2].GetResponseRange().Kvs {
		claimed[strings.TrimPrefix(string(kv.Key), cp)] = true
	}
	var moot []clientv3.Op
	for _, kv := range r[1].GetResponseRange().Kvs { // in key order: oldest first
		sk := strings.TrimPrefix(string(kv.Key), sp)
		switch {
		case claimed[sk]:
		case sk <= done:
			moot = append(moot, clientv3.OpDelete(string(kv.Key)))
		case cut.IsZero():
			if cut, err = parseSlot(sk); err != nil {
				return time.Time{}, time.Time{}, fmt.Errorf("started slot of %s: %w", scheduleID, err)
			}
		}
	}
	if len(moot) > 0 {
		if _, err := m.cli.Txn(ctx).Then(moot...).Commit(); err != nil {
			m.log.Debug("cluster: drop moot started marks", "schedule_id", scheduleID, "err", err)
		}
	}
	return finished, cut, nil
}

func parseSlot(v string) (time.Time, error) {
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(sec, 0).UTC(), nil
}

// LastFinished is the newest finished slot of scheduleID recorded in etcd
// (zero when none).
func (m *Member) LastFinished(ctx context.Context, scheduleID string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
	defer cancel()
	got, err := m.cli.Get(ctx, m.doneKey(scheduleID))
	if err != nil {
		return time.Time{}, fmt.Errorf("read slot record: %w", err)
	}
	if len(got.Kvs) == 0 {
		return time.Time{}, nil
	}
	sec, err := strconv.ParseInt(string(got.Kvs[0].Value), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("slot record of %s: %w", scheduleID, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func (m *Member) refused(scheduleID string, slot time.Time, reason string, err error) {
	m.met.refused.WithLabelValues(reason).Inc()
	if reason == ReasonNotInGroup || reason == ReasonEtcd {
		m.mu.Lock()
		m.lost = true
		m.mu.Unlock()
	}
	args := []any{"schedule_id", scheduleID, "slot", slot.UTC().Format(time.RFC3339), "reason", reason}
	if err != nil {
		args = append(args, "err", err)
	}
	if reason == ReasonFinished || reason == ReasonClaimed {
		m.log.Info("cluster: slot not run here", args...)
		return
	}
	m.log.Warn("cluster: slot refused: this member cannot hold its claim", args...)
}
