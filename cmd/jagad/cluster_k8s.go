package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/engine/cluster"
	"github.com/jagad/jagad/engine/cluster/k8slease"
	"github.com/jagad/jagad/state"
)

// groupMember is what the daemon needs of its place in a group: the etcd
// mode's cluster.Member or the Kubernetes Lease mode's k8slease.Elector
// (through leaseMember).
type groupMember interface {
	// ClaimSlot is the scheduler's gate (schedule.Gate), with the channel
	// that closes when the claim is lost.
	ClaimSlot(scheduleID string, slot time.Time) (cluster.Claimed, bool)
	Ready() error // for /readyz
	// Follow runs catch-up passes into the engine until ctx ends.
	Follow(ctx context.Context, retry time.Duration, catchUp cluster.CatchUpFunc)
	// Group names the group in the API's cluster-mode refusals.
	Group() string
	Close() error
}

// leaseMember is the Lease mode's groupMember: a slot's claim is lost
// (and its run cut off) as soon as the gate closes, that is when this
// daemon stops leading or its last renewal is too old to be sure no other
// daemon leads.
type leaseMember struct {
	*k8slease.Elector
	group string
}

// leaseCheckEvery is how often a claimed run checks that its daemon still
// leads; the gate closes renew_deadline after the last renewal started,
// before another daemon can take the Lease (lease_duration).
const leaseCheckEvery = 200 * time.Millisecond

func (m leaseMember) ClaimSlot(scheduleID string, slot time.Time) (cluster.Claimed, bool) {
	release, ok := m.Claim(scheduleID, slot)
	if !ok {
		return cluster.Claimed{}, false
	}
	lost, done := make(chan struct{}), make(chan struct{})
	var why string // set before lost closes
	go func() {
		t := time.NewTicker(leaseCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if !m.Leading() {
					why = m.CutOffReason()
					close(lost)
					return
				}
			}
		}
	}()
	var once sync.Once
	end := func() {
		once.Do(func() {
			close(done)
			select {
			case <-lost: // the run went on after the gate closed
				m.CutOff(scheduleID, slot, why)
			default:
			}
			release()
		})
	}
	return cluster.Claimed{Release: end, Lost: lost, Abandon: end}, true
}

func (m leaseMember) Follow(ctx context.Context, retry time.Duration, catchUp cluster.CatchUpFunc) {
	m.Elector.Follow(ctx, retry, catchUp)
}

func (m leaseMember) Group() string { return m.group }

// serviceAccountNamespace is where a pod finds its own namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// joinLease starts the single-leader mode on a Kubernetes Lease
// (cluster.kubernetes_lease or JAGAD_CLUSTER_K8S_*): this daemon runs every
// schedule while it holds the Lease, and none otherwise.
func joinLease(cl config.Cluster, log *slog.Logger, reg prometheus.Registerer, store *state.Store,
	env func(string) (string, bool)) (groupMember, error) {
	k := cl.KubernetesLease.WithDefaults()
	id, _ := env("JAGAD_CLUSTER_MEMBER")
	// One request may take half the renew deadline: a hung one cannot cost
	// the leadership by itself.
	cli, ctxNamespace, err := k8slease.NewClient(k.Kubeconfig, max(time.Second, k.RenewDeadline.Std()/2))
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if k.Namespace == "" {
		k.Namespace = ctxNamespace // the kubeconfig's current context's
	}
	if k.Namespace == "" {
		ns, err := os.ReadFile(serviceAccountNamespace)
		if err != nil {
			return nil, fmt.Errorf("cluster.kubernetes_lease.namespace (JAGAD_CLUSTER_K8S_NAMESPACE) is required outside a pod: %w", err)
		}
		k.Namespace = strings.TrimSpace(string(ns))
	}
	e, err := k8slease.Start(k8slease.Options{
		Client: cli, Namespace: k.Namespace, Name: k.Name, ID: id,
		LeaseDuration: k.LeaseDuration.Std(), RenewDeadline: k.RenewDeadline.Std(), RetryPeriod: k.RetryPeriod.Std(),
		Logger: log, Registerer: reg,
		Schedules: func() []string { return scheduleIDs(store) },
		LastRuns:  func(id string) (time.Time, time.Time) { return lastRuns(store, id) },
	})
	if err != nil {
		return nil, err
	}
	log.Info("cluster mode: scheduled runs are made by the holder of a Kubernetes Lease",
		"lease", k.Namespace+"/"+k.Name, "member", e.ID(), "lease_duration", k.LeaseDuration.String(),
		"renew_deadline", k.RenewDeadline.String(), "retry_period", k.RetryPeriod.String(), "kubeconfig", k.Kubeconfig != "")
	return leaseMember{Elector: e, group: k.Namespace + "/" + k.Name}, nil
}

// lastRuns is what the store knows of a schedule's runs, by any member
// (the others' are learned from the manifests in storage): finished, when
// the newest run that counts as made was created; interrupted, the slot of
// a newer run that was cut off with its daemon's leadership or stopped by a
// crash (engine.Interrupted), which a new leader runs again — the same
// daemon too, when it leads again or restarts with the same identity.
// Zero when there is none.
func lastRuns(store *state.Store, scheduleID string) (finished, interrupted time.Time) {
	_ = store.View(func(tx *state.Tx) error {
		bs, err := tx.ListBackups(state.BackupQuery{ScheduleID: scheduleID, Limit: 20})
		for _, b := range bs {
			if !engine.Interrupted(b) {
				finished = b.CreatedAt
				break
			}
			if interrupted.IsZero() {
				// Cron slots are whole minutes; a run is created at its slot.
				interrupted = b.CreatedAt.UTC().Truncate(time.Minute)
			}
		}
		return err
	})
	return finished, interrupted
}
