package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestValidateKubernetesLease(t *testing.T) {
	tests := []struct {
		name    string
		in      func(c *Cluster)
		wantErr []string
	}{
		{"defaults", func(*Cluster) {}, nil},
		{"full", func(c *Cluster) {
			*c.KubernetesLease = KubernetesLease{Namespace: "backups", Name: "jagad.leader", LeaseDuration: Duration(30 * time.Second),
				RenewDeadline: Duration(20 * time.Second), RetryPeriod: Duration(4 * time.Second), Kubeconfig: "/etc/kube.conf"}
		}, nil},
		{"with etcd endpoints", func(c *Cluster) { c.Endpoints = []string{"http://127.0.0.1:2379"} }, []string{"kubernetes_lease"}},
		{"etcd settings", func(c *Cluster) { c.Group, c.LeaseTTL, c.Password = "g", Duration(10*time.Second), "s3cret-pw" },
			[]string{"group", "lease_ttl", "password"}},
		{"bad namespace", func(c *Cluster) { c.KubernetesLease.Namespace = "Backups" }, []string{"kubernetes_lease.namespace"}},
		{"bad name", func(c *Cluster) { c.KubernetesLease.Name = "jagad/leader" }, []string{"kubernetes_lease.name"}},
		{"short duration", func(c *Cluster) { c.KubernetesLease.LeaseDuration = Duration(time.Second) }, []string{"kubernetes_lease.lease_duration"}},
		{"fractional duration", func(c *Cluster) { c.KubernetesLease.LeaseDuration = Duration(15500 * time.Millisecond) }, []string{"kubernetes_lease.lease_duration"}},
		// The default renew deadline (10s) is not below a 5s duration.
		{"duration under the default deadline", func(c *Cluster) { c.KubernetesLease.LeaseDuration = Duration(5 * time.Second) }, []string{"kubernetes_lease.renew_deadline"}},
		{"retry too long", func(c *Cluster) { c.KubernetesLease.RetryPeriod = Duration(9 * time.Second) }, []string{"kubernetes_lease.retry_period"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Cluster{KubernetesLease: &KubernetesLease{}}
			tt.in(&c)
			var got []string
			for _, e := range ValidateCluster(c) {
				got = append(got, e.Field)
				if strings.Contains(e.Message, "s3cret-pw") {
					t.Errorf("%s: the message quotes the password", e.Field)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantErr) {
				t.Errorf("errors on %v, want %v", got, tt.wantErr)
			}
		})
	}
}

// TestKubernetesLeaseInTheFile: the section decodes strictly; a Lease beside
// etcd endpoints is an error at the position of kubernetes_lease, and a bad
// duration at its own line.
func TestKubernetesLeaseInTheFile(t *testing.T) {
	doc := "version: 1\ncluster:\n  kubernetes_lease:\n    namespace: backups\n    lease_duration: 20s\n"
	f, rep := Parse("jagad.yaml", []byte(doc), Options{})
	if rep.HasErrors() {
		t.Fatalf("errors: %v", rep.Errors())
	}
	if f.Cluster == nil || f.Cluster.KubernetesLease == nil || f.Cluster.KubernetesLease.Namespace != "backups" ||
		f.Cluster.KubernetesLease.LeaseDuration.Std() != 20*time.Second {
		t.Fatalf("cluster = %+v", f.Cluster)
	}
	if f, rep := Parse("jagad.yaml", []byte("version: 1\ncluster:\n  kubernetes_lease: {}\n"), Options{}); rep.HasErrors() || f.Cluster.KubernetesLease == nil {
		t.Fatalf("an empty section: %+v %v", f.Cluster, rep.Errors())
	}

	bad := "version: 1\ncluster:\n  endpoints: [\"http://127.0.0.1:2379\"]\n  kubernetes_lease:\n    lease_duration: 1s\n    leader: x\n"
	_, rep = Parse("jagad.yaml", []byte(bad), Options{})
	var msgs []string
	for _, e := range rep.Errors() {
		msgs = append(msgs, fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Message))
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"5:5: cluster: kubernetes_lease: cannot be used with endpoints", "5:21: cluster: kubernetes_lease.lease_duration", "6:5: unknown field"} {
		if !strings.Contains(all, want) {
			t.Errorf("no error %q in:\n%s", want, all)
		}
	}
}

func TestKubernetesLeaseFromEnv(t *testing.T) {
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	c, err := ClusterFromEnv(nil, env(map[string]string{"JAGAD_CLUSTER_K8S_NAMESPACE": "backups", "JAGAD_CLUSTER_K8S_LEASE_DURATION": "30s"}))
	if err != nil || c == nil || c.KubernetesLease == nil || c.KubernetesLease.Namespace != "backups" || c.KubernetesLease.LeaseDuration.Std() != 30*time.Second {
		t.Fatalf("env only: %+v, %v", c, err)
	}
	file := &Cluster{KubernetesLease: &KubernetesLease{Namespace: "backups", Name: "from-file"}}
	c, err = ClusterFromEnv(file, env(map[string]string{"JAGAD_CLUSTER_K8S_NAME": "from-env"}))
	if err != nil || c.KubernetesLease.Name != "from-env" || c.KubernetesLease.Namespace != "backups" {
		t.Fatalf("env over file: %+v, %v", c, err)
	}
	if file.KubernetesLease.Name != "from-file" {
		t.Error("ClusterFromEnv changed the file's section")
	}
	_, err = ClusterFromEnv(nil, env(map[string]string{"JAGAD_CLUSTER_ENDPOINTS": "http://a:2379", "JAGAD_CLUSTER_K8S_NAME": "jagad"}))
	if err == nil || !strings.Contains(err.Error(), "cluster.kubernetes_lease: cannot be used with endpoints") {
		t.Errorf("etcd and Lease both: %v", err)
	}
	if _, err = ClusterFromEnv(nil, env(map[string]string{"JAGAD_CLUSTER_K8S_RETRY_PERIOD": "soon"})); err == nil ||
		!strings.Contains(err.Error(), "JAGAD_CLUSTER_K8S_RETRY_PERIOD") {
		t.Errorf("bad duration: %v", err)
	}
}
