package config

import (
	"fmt"
	"regexp"
	"time"
)

// KubernetesLease is cluster.kubernetes_lease: the single-leader mode on a
// coordination.k8s.io Lease (engine/cluster/k8slease) instead of etcd. The
// daemon holding the Lease runs every schedule; the others run none. An
// empty section ({}) takes every default.
type KubernetesLease struct {
	// Namespace of the Lease; default: the pod's own (its service
	// account's namespace file).
	Namespace     string   `yaml:"namespace"`
	Name          string   `yaml:"name"`           // default "jagad"
	LeaseDuration Duration `yaml:"lease_duration"` // default 15s; whole seconds, 2s to 5m
	RenewDeadline Duration `yaml:"renew_deadline"` // default 10s; below lease_duration
	RetryPeriod   Duration `yaml:"retry_period"`   // default 2s; renew_deadline > 1.2 × retry_period
	// Kubeconfig is a kubeconfig file; empty: the pod's service account
	// (in-cluster config).
	Kubeconfig string `yaml:"kubeconfig"`
}

// Kubernetes Lease defaults (those of Kubernetes' own controllers) and bounds.
const (
	DefaultLeaseName          = "jagad"
	DefaultLeaseDuration      = 15 * time.Second
	DefaultLeaseRenewDeadline = 10 * time.Second
	DefaultLeaseRetryPeriod   = 2 * time.Second
	minLeaseDuration          = 2 * time.Second
	maxLeaseDuration          = 5 * time.Minute
)

// Kubernetes object names: a namespace is a DNS-1123 label, a Lease name a
// DNS-1123 subdomain.
var (
	k8sLabelRe     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	k8sSubdomainRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// WithDefaults returns k with the name and durations defaulted.
func (k KubernetesLease) WithDefaults() KubernetesLease {
	if k.Name == "" {
		k.Name = DefaultLeaseName
	}
	if k.LeaseDuration == 0 {
		k.LeaseDuration = Duration(DefaultLeaseDuration)
	}
	if k.RenewDeadline == 0 {
		k.RenewDeadline = Duration(DefaultLeaseRenewDeadline)
	}
	if k.RetryPeriod == 0 {
		k.RetryPeriod = Duration(DefaultLeaseRetryPeriod)
	}
	return k
}

// validateKubernetesLease checks a cluster: section in Lease mode: the
// etcd fields are out of place, the Lease's fields in range, the durations
// (with the defaults of those left out) in the order the election requires (those of client-go).
func validateKubernetesLease(c Cluster) []FieldError {
	var errs fieldErrs
	const p = "kubernetes_lease."
	if len(c.Endpoints) > 0 {
		errs.add("kubernetes_lease", "cannot be used with endpoints: choose etcd (endpoints) or a Kubernetes Lease, not both")
	}
	for _, f := range []struct {
		field string
		set   bool
	}{
		{"group", c.Group != ""}, {"lease_ttl", c.LeaseTTL != 0}, {"ca_file", c.CAFile != ""}, {"cert_file", c.CertFile != ""},
		{"key_file", c.KeyFile != ""}, {"username", c.Username != ""}, {"password", c.Password != ""},
	} {
		if f.set {
			errs.add(f.field, "is an etcd setting; the Kubernetes Lease mode (kubernetes_lease) does not use it")
		}
	}
	k := *c.KubernetesLease
	if k.Namespace != "" && !k8sLabelRe.MatchString(k.Namespace) {
		errs.add(p+"namespace", "must be a Kubernetes namespace name: 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit")
	}
	if k.Name != "" && (len(k.Name) > 253 || !k8sSubdomainRe.MatchString(k.Name)) {
		errs.add(p+"name", "must be a Kubernetes object name: lowercase letters, digits, '-' and '.', at most 253")
	}
	for _, f := range []struct {
		field string
		d     Duration
	}{{"lease_duration", k.LeaseDuration}, {"renew_deadline", k.RenewDeadline}, {"retry_period", k.RetryPeriod}} {
		if f.d < 0 {
			errs.add(p+f.field, "must be positive")
		}
	}
	d := k.WithDefaults()
	dur, deadline, retry := d.LeaseDuration.Std(), d.RenewDeadline.Std(), d.RetryPeriod.Std()
	switch {
	case dur < minLeaseDuration || dur > maxLeaseDuration:
		errs.add(p+"lease_duration", "must be between %s and %s", minLeaseDuration, maxLeaseDuration)
	case dur%time.Second != 0:
		errs.add(p+"lease_duration", "must be whole seconds (a Lease counts seconds)")
	case deadline >= dur:
		errs.add(p+"renew_deadline", "must be shorter than lease_duration (%s): the gap is what keeps two leaders apart", d.LeaseDuration)
	case retry > 0 && deadline > 0 && float64(deadline) <= 1.2*float64(retry):
		errs.add(p+"retry_period", "must be below renew_deadline / 1.2 (%s), so that a renewal is retried before the deadline", time.Duration(float64(deadline)/1.2).Round(time.Millisecond))
	}
	return errs
}

// ClusterK8sEnv lists the JAGAD_CLUSTER_K8S_* variables: any of them
// selects the Kubernetes Lease mode, and each overrides its field of the
// file's cluster.kubernetes_lease.
var ClusterK8sEnv = []string{
	"JAGAD_CLUSTER_K8S_NAMESPACE", "JAGAD_CLUSTER_K8S_NAME", "JAGAD_CLUSTER_K8S_LEASE_DURATION",
	"JAGAD_CLUSTER_K8S_RENEW_DEADLINE", "JAGAD_CLUSTER_K8S_RETRY_PERIOD", "JAGAD_CLUSTER_K8S_KUBECONFIG",
}

// kubernetesLeaseFromEnv applies the JAGAD_CLUSTER_K8S_* variables to c
// (a copy of the file's section; its KubernetesLease is copied before it
// changes), setting *set when any is.
func kubernetesLeaseFromEnv(c *Cluster, lookup func(string) (string, bool), set *bool) error {
	var k KubernetesLease
	if c.KubernetesLease != nil {
		k = *c.KubernetesLease
	}
	found := false
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok && v != "" {
			*dst, found = v, true
		}
	}
	dur := func(name string, dst *Duration) error {
		if v, ok := lookup(name); ok && v != "" {
			d, err := ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*dst, found = d, true
		}
		return nil
	}
	str("JAGAD_CLUSTER_K8S_NAMESPACE", &k.Namespace)
	str("JAGAD_CLUSTER_K8S_NAME", &k.Name)
	str("JAGAD_CLUSTER_K8S_KUBECONFIG", &k.Kubeconfig)
	if err := dur("JAGAD_CLUSTER_K8S_LEASE_DURATION", &k.LeaseDuration); err != nil {
		return err
	}
	if err := dur("JAGAD_CLUSTER_K8S_RENEW_DEADLINE", &k.RenewDeadline); err != nil {
		return err
	}
	if err := dur("JAGAD_CLUSTER_K8S_RETRY_PERIOD", &k.RetryPeriod); err != nil {
		return err
	}
	if found {
		c.KubernetesLease, *set = &k, true
	}
	return nil
}
