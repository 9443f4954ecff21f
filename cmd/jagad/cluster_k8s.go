package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine/cluster/k8slease"
	"github.com/jagad/jagad/state"
)

// groupMember is what the daemon needs of its place in a group: the etcd
// mode's cluster.Member or the Kubernetes Lease mode's k8slease.Elector.
type groupMember interface {
	// Claim is the scheduler's gate (schedule.Gate).
	Claim(scheduleID string, slot time.Time) (release func(), ok bool)
	Ready() error // for /readyz
	// Follow runs catch-up passes into the engine until ctx ends.
	Follow(ctx context.Context, retry time.Duration, catchUp func(scheduleID string, finished time.Time))
	Close() error
}

// serviceAccountNamespace is where a pod finds its own namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// joinLease starts the single-leader mode on a Kubernetes Lease
// (cluster.kubernetes_lease or JAGAD_CLUSTER_K8S_*): this daemon runs every
// schedule while it holds the Lease, and none otherwise.
func joinLease(cl config.Cluster, log *slog.Logger, reg prometheus.Registerer, store *state.Store,
	env func(string) (string, bool)) (groupMember, error) {
	k := cl.KubernetesLease.WithDefaults()
	if k.Namespace == "" {
		ns, err := os.ReadFile(serviceAccountNamespace)
		if err != nil {
			return nil, fmt.Errorf("cluster.kubernetes_lease.namespace (JAGAD_CLUSTER_K8S_NAMESPACE) is required outside a pod: %w", err)
		}
		k.Namespace = strings.TrimSpace(string(ns))
	}
	id, _ := env("JAGAD_CLUSTER_MEMBER")
	// One request may take half the renew deadline: a hung one cannot cost
	// the leadership by itself.
	cli, err := k8slease.NewClient(k.Kubeconfig, max(time.Second, k.RenewDeadline.Std()/2))
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	e, err := k8slease.Start(k8slease.Options{
		Client: cli, Namespace: k.Namespace, Name: k.Name, ID: id,
		LeaseDuration: k.LeaseDuration.Std(), RenewDeadline: k.RenewDeadline.Std(), RetryPeriod: k.RetryPeriod.Std(),
		Logger: log, Registerer: reg,
		Schedules:    func() []string { return scheduleIDs(store) },
		LastFinished: func(id string) time.Time { return lastBackup(store, id) },
	})
	if err != nil {
		return nil, err
	}
	log.Info("cluster mode: scheduled runs are made by the holder of a Kubernetes Lease",
		"lease", k.Namespace+"/"+k.Name, "member", e.ID(), "lease_duration", k.LeaseDuration.String(),
		"renew_deadline", k.RenewDeadline.String(), "retry_period", k.RetryPeriod.String(), "kubeconfig", k.Kubeconfig != "")
	return e, nil
}

// lastBackup is when the newest backup of a schedule was created, by any
// member (the others' are learned from the manifests in storage); zero when
// it has none.
func lastBackup(store *state.Store, scheduleID string) time.Time {
	var last time.Time
	_ = store.View(func(tx *state.Tx) error {
		bs, err := tx.ListBackups(state.BackupQuery{ScheduleID: scheduleID, Limit: 1})
		if err == nil && len(bs) > 0 {
			last = bs[0].CreatedAt
		}
		return err
	})
	return last
}
