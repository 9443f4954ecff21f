package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestValidateCluster(t *testing.T) {
	ok := Cluster{Endpoints: []string{"http://127.0.0.1:2379"}}
	tests := []struct {
		name    string
		in      func(c *Cluster)
		wantErr []string
	}{
		{"minimal", func(*Cluster) {}, nil},
		{"full", func(c *Cluster) {
			c.Endpoints = []string{"https://etcd-0:2379", "etcd-1:2379"}
			c.Group, c.LeaseTTL = "prod-db", Duration(15*time.Second)
			c.CAFile, c.CertFile, c.KeyFile = "/ca.pem", "/c.pem", "/k.pem"
			c.Username, c.Password = "jagad", "pw"
		}, nil},
		{"no endpoints", func(c *Cluster) { c.Endpoints = nil }, []string{"endpoints"}},
		{"bad scheme", func(c *Cluster) { c.Endpoints = []string{"ftp://x:1"} }, []string{"endpoints[0]"}},
		{"credentials in URL", func(c *Cluster) { c.Endpoints = []string{"http://u:p@x:1"} }, []string{"endpoints[0]"}},
		{"bad group", func(c *Cluster) { c.Group = "Prod/DB" }, []string{"group"}},
		{"short ttl", func(c *Cluster) { c.LeaseTTL = Duration(time.Second) }, []string{"lease_ttl"}},
		{"fractional ttl", func(c *Cluster) { c.LeaseTTL = Duration(2500 * time.Millisecond) }, []string{"lease_ttl"}},
		{"cert without key", func(c *Cluster) { c.CertFile = "/c.pem" }, []string{"cert_file"}},
		{"password alone", func(c *Cluster) { c.Password = "s3cret-pw" }, []string{"username"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
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

// TestClusterSectionInTheFile: the section decodes strictly, is validated
// with positions, and a literal password is warned about.
func TestClusterSectionInTheFile(t *testing.T) {
	doc := "version: 1\ncluster:\n  endpoints: [\"http://127.0.0.1:2379\"]\n  group: backups\n  lease_ttl: 15s\n  username: jagad\n  password: literal-pw\n"
	f, rep := Parse("jagad.yaml", []byte(doc), Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if rep.HasErrors() {
		t.Fatalf("errors: %v", rep.Errors())
	}
	if f.Cluster == nil || f.Cluster.Group != "backups" || f.Cluster.LeaseTTL.Std() != 15*time.Second || f.Cluster.Endpoints[0] != "http://127.0.0.1:2379" {
		t.Fatalf("cluster = %+v", f.Cluster)
	}
	warned := false
	for _, w := range rep.Warnings() {
		warned = warned || strings.Contains(w.Message, "cluster.password")
	}
	if !warned {
		t.Errorf("no warning for the literal password: %v", rep.Warnings())
	}

	bad := "version: 1\ncluster:\n  endpoints: []\n  lease_ttl: 1s\n  members: 3\n"
	_, rep = Parse("jagad.yaml", []byte(bad), Options{})
	var msgs []string
	for _, e := range rep.Errors() {
		msgs = append(msgs, fmt.Sprintf("%d: %s", e.Line, e.Message))
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"3: ", "4: ", "5: "} {
		if !strings.Contains(all, want) {
			t.Errorf("no error on line %s in:\n%s", want, all)
		}
	}
	if f, rep := Parse("jagad.yaml", []byte("version: 1\n"), Options{}); rep.HasErrors() || f.Cluster != nil {
		t.Errorf("a file without cluster: has one: %+v %v", f, rep.Errors())
	}
}

func TestClusterFromEnv(t *testing.T) {
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	if c, err := ClusterFromEnv(nil, env(nil)); c != nil || err != nil {
		t.Fatalf("no file section, no env: %+v, %v; want alone", c, err)
	}
	c, err := ClusterFromEnv(nil, env(map[string]string{"JAGAD_CLUSTER_ENDPOINTS": "http://a:2379, http://b:2379", "JAGAD_CLUSTER_LEASE_TTL": "6s"}))
	if err != nil || c == nil || len(c.Endpoints) != 2 || c.Endpoints[1] != "http://b:2379" || c.Group != "default" || c.LeaseTTL.Std() != 6*time.Second {
		t.Fatalf("env only: %+v, %v", c, err)
	}
	file := &Cluster{Endpoints: []string{"http://f:2379"}, Group: "g"}
	c, err = ClusterFromEnv(file, env(map[string]string{"JAGAD_CLUSTER_GROUP": "other"}))
	if err != nil || c.Group != "other" || c.Endpoints[0] != "http://f:2379" || c.LeaseTTL.Std() != DefaultClusterLeaseTTL {
		t.Fatalf("env over file: %+v, %v", c, err)
	}
	if file.Group != "g" {
		t.Error("ClusterFromEnv changed the file's section")
	}
	_, err = ClusterFromEnv(nil, env(map[string]string{"JAGAD_CLUSTER_ENDPOINTS": "http://a:2379", "JAGAD_CLUSTER_PASSWORD": "env-secret"}))
	if err == nil || strings.Contains(err.Error(), "env-secret") || !strings.Contains(err.Error(), "cluster.username") {
		t.Errorf("password without username: %v", err)
	}
}
