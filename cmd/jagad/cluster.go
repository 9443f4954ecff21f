package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/api"
	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine/cluster"
	"github.com/jagad/jagad/engine/schedule"
	"github.com/jagad/jagad/reconcile"
	"github.com/jagad/jagad/state"
)

// clusterLearnEvery is how often a member records the backups the other
// members stored, from their manifests.
const clusterLearnEvery = 5 * time.Second

// clusterRetry is how often a member that failed a claim for want of a
// lease or of etcd looks again for slots to catch up.
const clusterRetry = 10 * time.Second

// joinCluster joins the group named by jagad.yaml's cluster: section and
// JAGAD_CLUSTER_* (read once, at start). It returns nil when neither
// declares one: Jagad runs alone, with no etcd at all. The section it
// started with goes to watch (nil: alone).
func joinCluster(c *serveConfig, log *slog.Logger, reg prometheus.Registerer, store *state.Store,
	env func(string) (string, bool), watch *clusterSectionWatch) (groupMember, error) {
	var section *config.Cluster
	if c.configPath != "" {
		f, rep := config.Load(c.configPath, config.Options{LookupEnv: env, Resolve: true})
		switch {
		case f != nil:
			section = f.Cluster
		case declaresCluster(c.configPath):
			// Starting alone on a broken file would run every schedule
			// beside the group.
			return nil, fmt.Errorf("%s declares a cluster: section but has errors; not starting alone: %w", c.configPath, rep.Err())
		}
	}
	cl, err := config.ClusterFromEnv(section, env)
	if err != nil || cl == nil {
		return nil, err
	}
	watch.started = cl
	if cl.KubernetesLease != nil { // cluster_k8s.go
		return joinLease(*cl, log, reg, store, env)
	}
	tlsCfg, err := clusterTLS(*cl)
	if err != nil {
		return nil, err
	}
	id, _ := env("JAGAD_CLUSTER_MEMBER")
	if strings.ContainsAny(id, "/\x00") {
		return nil, errors.New("JAGAD_CLUSTER_MEMBER must not contain '/'")
	}
	m, err := cluster.Join(cluster.Options{
		Endpoints: cl.Endpoints, Group: cl.Group, ID: id, LeaseTTL: cl.LeaseTTL.Std(), TLS: tlsCfg,
		Username: cl.Username, Password: cl.Password, Logger: log, Registerer: reg,
		Schedules: func() []string { return scheduleIDs(store) },
	})
	if err != nil {
		return nil, err
	}
	log.Info("cluster mode: scheduled runs are shared with the group through etcd",
		"group", cl.Group, "member", m.ID(), "endpoints", strings.Join(cl.Endpoints, ","), "lease_ttl", cl.LeaseTTL.String(), "tls", tlsCfg != nil)
	return m, nil
}

// declaresCluster reports whether the file has a top-level cluster: key.
func declaresCluster(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	return bytes.HasPrefix(data, []byte("cluster:")) || bytes.Contains(data, []byte("\ncluster:"))
}

// clusterTLS builds the etcd client's TLS from the section's files; nil
// for plain TCP.
func clusterTLS(cl config.Cluster) (*tls.Config, error) {
	if !cl.TLS() {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if cl.CAFile != "" {
		pem, err := os.ReadFile(cl.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cluster.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cluster.ca_file %s: no PEM certificate", cl.CAFile)
		}
		t.RootCAs = pool
	}
	if cl.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cl.CertFile, cl.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cluster.cert_file/key_file: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// scheduleIDs lists the enabled file-managed schedules of the store: the
// ones every member has, under the same ID (state.DerivedID of the name).
func scheduleIDs(store *state.Store) []string {
	var ids []string
	_ = store.View(func(tx *state.Tx) error {
		ss, err := state.List[state.Schedule](tx)
		for _, s := range ss {
			if s.EffectiveEnabled() && s.ManagedBy == state.ManagedByFile {
				ids = append(ids, s.ID)
			}
		}
		return err
	})
	return ids
}

// sharedGate puts the group's claims on the file-managed schedules only: a
// schedule made through the API lives in one member's store, so that
// member alone runs it, as it would without a group.
type sharedGate struct {
	member groupMember
	store  *state.Store
}

func (g sharedGate) Claim(scheduleID string, slot time.Time) (schedule.Claim, bool) {
	var s state.Schedule
	err := g.store.View(func(tx *state.Tx) error {
		var err error
		s, err = state.Get[state.Schedule](tx, scheduleID)
		return err
	})
	if err == nil && s.ManagedBy != state.ManagedByFile {
		return schedule.Claim{Release: func() {}}, true
	}
	c, ok := g.member.ClaimSlot(scheduleID, slot)
	return schedule.Claim{Release: c.Release, Lost: c.Lost, Abandon: c.Abandon}, ok
}

// startFollow runs the member's catch-up passes into the engine until
// stopFollow.
func (d *daemon) startFollow() {
	if d.member == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.followStop, d.followDone = cancel, make(chan struct{})
	learnDone := make(chan struct{})
	go func() {
		defer close(d.followDone)
		defer func() { <-learnDone }()
		d.member.Follow(ctx, clusterRetry, d.eng.CatchUp)
	}()
	go func() { // backups of the other members, from the manifests in storage
		defer close(learnDone)
		l := d.eng.NewLearner()
		t := time.NewTicker(clusterLearnEvery)
		defer t.Stop()
		failing := false
		for {
			_, err := l.Pass(ctx)
			if err != nil && !failing && ctx.Err() == nil { // logged once per failing stretch
				d.log.Warn("cluster: learning the other members' backups from storage", "err", err)
			}
			failing = err != nil
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// stopFollow stops the catch-up passes (before the engine stops).
func (d *daemon) stopFollow() {
	if d.followStop != nil {
		d.followStop()
		<-d.followDone
		d.followStop = nil
	}
}

// leaveCluster leaves the group once the engine has stopped: its lease is
// revoked and its share moves at once.
func (d *daemon) leaveCluster() {
	if d.member != nil {
		if err := d.member.Close(); err != nil {
			d.log.Warn("leave cluster group", "err", err)
		}
	}
}

// clusterSectionWatch reports, after every accepted reload, a cluster:
// section (with JAGAD_CLUSTER_*) that differs from the one the daemon
// started with: the section is read at start only, so the change waits for
// a restart, and saying so beats ignoring it silently. It is the API's
// api.RestartNotes: the config status and plans list the difference.
type clusterSectionWatch struct {
	log     *slog.Logger
	env     func(string) (string, bool)
	started *config.Cluster // nil: alone

	mu    sync.Mutex
	notes []string // the difference of the file in force (nil none)
}

var _ api.RestartNotes = (*clusterSectionWatch)(nil)

// check compares f's section with the one the daemon started with and
// logs a difference once (again when it changes).
func (w *clusterSectionWatch) check(f *config.File) {
	notes := w.diff(f.Cluster)
	w.mu.Lock()
	same := slices.Equal(notes, w.notes)
	w.notes = notes
	w.mu.Unlock()
	if len(notes) == 0 || same {
		return
	}
	w.log.Warn("jagad.yaml: the cluster: section changed, but it is read only when the daemon starts: "+
		"restart the daemon to apply it (until then it keeps the group settings it started with; the rest of the file applies)",
		"changed", strings.Join(notes, "; "))
}

// InForce lists the differences of the file in force ("needs restart").
func (w *clusterSectionWatch) InForce() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.notes)
}

// ForDocument lists the differences of a posted jagad.yaml (one the
// planner accepted, parsed as it does: no ${file:...}).
func (w *clusterSectionWatch) ForDocument(doc []byte) []string {
	f, _ := config.Parse(reconcile.PostedName, doc, config.Options{LookupEnv: w.env, DenyFileRefs: true, Resolve: true})
	if f == nil {
		return nil
	}
	return w.diff(f.Cluster)
}

// diff is clusterDiff of the started section and section with
// JAGAD_CLUSTER_* applied.
func (w *clusterSectionWatch) diff(section *config.Cluster) []string {
	now, err := config.ClusterFromEnv(section, w.env)
	if err != nil {
		return []string{"cluster section invalid: " + err.Error()} // never quotes the password
	}
	return clusterDiff(w.started, now)
}

// clusterDiff names the fields that differ between a and b (nil: no
// section), never their values: "cluster.group changed".
func clusterDiff(a, b *config.Cluster) []string {
	switch {
	case a == nil && b == nil:
		return nil
	case a == nil:
		return []string{"cluster section added (this daemon runs alone until restarted)"}
	case b == nil:
		return []string{"cluster section removed (this daemon stays in its group until restarted)"}
	}
	var d []string
	add := func(name string, differ bool) {
		if differ {
			d = append(d, "cluster."+name+" changed")
		}
	}
	add("endpoints", !slices.Equal(a.Endpoints, b.Endpoints))
	add("group", a.Group != b.Group)
	add("lease_ttl", a.LeaseTTL != b.LeaseTTL)
	add("ca_file", a.CAFile != b.CAFile)
	add("cert_file", a.CertFile != b.CertFile)
	add("key_file", a.KeyFile != b.KeyFile)
	add("username", a.Username != b.Username)
	add("password", a.Password != b.Password)
	ka, kb := a.KubernetesLease, b.KubernetesLease
	switch {
	case ka == nil && kb == nil:
	case ka == nil:
		d = append(d, "cluster.kubernetes_lease added")
	case kb == nil:
		d = append(d, "cluster.kubernetes_lease removed")
	default:
		add("kubernetes_lease.namespace", ka.Namespace != kb.Namespace)
		add("kubernetes_lease.name", ka.Name != kb.Name)
		add("kubernetes_lease.lease_duration", ka.LeaseDuration != kb.LeaseDuration)
		add("kubernetes_lease.renew_deadline", ka.RenewDeadline != kb.RenewDeadline)
		add("kubernetes_lease.retry_period", ka.RetryPeriod != kb.RetryPeriod)
		add("kubernetes_lease.kubeconfig", ka.Kubeconfig != kb.Kubeconfig)
	}
	return d
}
