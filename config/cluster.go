package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Cluster is the cluster: section: several daemons on one jagad.yaml run
// as a group coordinated through etcd (engine/cluster). Without it (and
// without JAGAD_CLUSTER_ENDPOINTS) Jagad runs alone. It is read when the
// daemon starts: changing it takes a restart.
type Cluster struct {
	Endpoints []string `yaml:"endpoints"` // etcd client URLs (http:// or https://) or host:port
	Group     string   `yaml:"group"`     // key prefix /jagad/<group>/; default "default"
	LeaseTTL  Duration `yaml:"lease_ttl"` // default 10s; whole seconds, 2s to 5m
	CAFile    string   `yaml:"ca_file"`   // TLS: CA bundle of the etcd servers
	CertFile  string   `yaml:"cert_file"` // TLS client certificate (with key_file)
	KeyFile   string   `yaml:"key_file"`
	Username  string   `yaml:"username"`
	Password  string   `yaml:"password"` // secret
	// KubernetesLease selects the single-leader mode on a Kubernetes Lease
	// instead of etcd (cluster_k8s.go).
	KubernetesLease *KubernetesLease `yaml:"kubernetes_lease"`
}

// Cluster defaults and bounds.
const (
	DefaultClusterGroup    = "default"
	DefaultClusterLeaseTTL = 10 * time.Second
	minClusterLeaseTTL     = 2 * time.Second
	maxClusterLeaseTTL     = 5 * time.Minute
)

var clusterGroupRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$`)

// WithDefaults returns c with the group and lease TTL defaulted.
func (c Cluster) WithDefaults() Cluster {
	if c.Group == "" {
		c.Group = DefaultClusterGroup
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = Duration(DefaultClusterLeaseTTL)
	}
	return c
}

// TLS reports whether the etcd connection uses TLS.
func (c Cluster) TLS() bool {
	if c.CAFile != "" || c.CertFile != "" {
		return true
	}
	for _, e := range c.Endpoints {
		if strings.HasPrefix(e, "https://") {
			return true
		}
	}
	return false
}

// ValidateCluster checks every field of c (defaults not applied).
func ValidateCluster(c Cluster) []FieldError {
	if c.KubernetesLease != nil {
		return validateKubernetesLease(c)
	}
	var errs fieldErrs
	if len(c.Endpoints) == 0 {
		errs.add("endpoints", "is required: the etcd client URLs, such as http://etcd-0:2379")
	}
	for i, e := range c.Endpoints {
		if err := checkEndpoint(e); err != nil {
			errs.addErr(fmt.Sprintf("endpoints[%d]", i), err)
		}
	}
	if c.Group != "" && !clusterGroupRe.MatchString(c.Group) {
		errs.add("group", "must be 1 to 63 lowercase letters, digits, '-' or '_', starting and ending with a letter or digit")
	}
	if ttl := c.LeaseTTL.Std(); ttl != 0 {
		switch {
		case ttl < minClusterLeaseTTL || ttl > maxClusterLeaseTTL:
			errs.add("lease_ttl", "must be between %s and %s", minClusterLeaseTTL, maxClusterLeaseTTL)
		case ttl%time.Second != 0:
			errs.add("lease_ttl", "must be whole seconds (etcd leases count seconds)")
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs.add("cert_file", "and key_file go together: set both for a client certificate, or neither")
	}
	if c.Password != "" && c.Username == "" {
		errs.add("username", "is required with password")
	}
	return errs
}

// checkEndpoint accepts http://host:port, https://host:port or host:port.
func checkEndpoint(e string) error {
	if e == "" {
		return fmt.Errorf("is empty")
	}
	raw := e
	if !strings.Contains(e, "://") {
		raw = "http://" + e
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("must be an etcd client URL such as http://etcd-0:2379")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("must use http:// or https://, not %s://", u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("must not hold credentials: use username and password")
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("must be scheme://host:port without a path")
	}
	return nil
}

// checkCluster validates the cluster: section of the file.
func (c *checker) checkCluster() {
	if cl := c.file.Cluster; cl != nil && !c.skip("cluster") {
		c.fieldErrors("cluster", "cluster", ValidateCluster(*cl))
		c.literal("cluster.password", cl.Password)
	}
}

// ClusterEnv lists the JAGAD_CLUSTER_* variables, which override the
// fields of the file's cluster: section one by one.
var ClusterEnv = []string{
	"JAGAD_CLUSTER_ENDPOINTS", "JAGAD_CLUSTER_GROUP", "JAGAD_CLUSTER_LEASE_TTL",
	"JAGAD_CLUSTER_CA_FILE", "JAGAD_CLUSTER_CERT_FILE", "JAGAD_CLUSTER_KEY_FILE",
	"JAGAD_CLUSTER_USERNAME", "JAGAD_CLUSTER_PASSWORD",
}

// ClusterFromEnv applies the JAGAD_CLUSTER_* variables over file (the
// file's cluster: section, nil when it has none) and validates the result.
// It returns nil when neither declares a cluster: Jagad runs alone.
// Messages never quote the password.
func ClusterFromEnv(file *Cluster, lookup func(string) (string, bool)) (*Cluster, error) {
	var c Cluster
	if file != nil {
		c = *file
	}
	set := file != nil
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok && v != "" {
			*dst, set = v, true
		}
	}
	if v, ok := lookup("JAGAD_CLUSTER_ENDPOINTS"); ok && v != "" {
		c.Endpoints = nil
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				c.Endpoints = append(c.Endpoints, e)
			}
		}
		set = true
	}
	str("JAGAD_CLUSTER_GROUP", &c.Group)
	str("JAGAD_CLUSTER_CA_FILE", &c.CAFile)
	str("JAGAD_CLUSTER_CERT_FILE", &c.CertFile)
	str("JAGAD_CLUSTER_KEY_FILE", &c.KeyFile)
	str("JAGAD_CLUSTER_USERNAME", &c.Username)
	str("JAGAD_CLUSTER_PASSWORD", &c.Password)
	if v, ok := lookup("JAGAD_CLUSTER_LEASE_TTL"); ok && v != "" {
		d, err := ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("JAGAD_CLUSTER_LEASE_TTL: %w", err)
		}
		c.LeaseTTL, set = d, true
	}
	if err := kubernetesLeaseFromEnv(&c, lookup, &set); err != nil {
		return nil, err
	}
	if !set {
		return nil, nil
	}
	if errs := ValidateCluster(c); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = "cluster." + e.Error()
		}
		return nil, fmt.Errorf("cluster configuration (jagad.yaml cluster: and JAGAD_CLUSTER_*): %s", strings.Join(msgs, "; "))
	}
	c = c.WithDefaults()
	return &c, nil
}
