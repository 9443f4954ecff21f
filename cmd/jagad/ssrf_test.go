package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

const ssrfCanary = "REMOTECANARY3b7f"

// TestTestEndpointsRefuseMetadataAndDoNotEcho drives the daemon's test
// endpoints: a webhook and an S3 endpoint at the metadata address are
// refused at dial time; a webhook and an S3 endpoint answered by a server
// that returns 500 with a canary in its body report the failure without the
// canary.
func TestTestEndpointsRefuseMetadataAndDoNotEcho(t *testing.T) {
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "<html>internal admin console "+ssrfCanary+"</html>")
	}))
	defer remote.Close()
	dir := t.TempDir()
	od := startObsDaemon(t, map[string]string{
		"JAGAD_LISTEN": "127.0.0.1:0", "JAGAD_DATA_DIR": filepath.Join(dir, "data"),
		"JAGAD_ADMIN_PASS": "ssrf-admin-pass-1", "JAGAD_LOG_LEVEL": "debug",
	})
	od.login("admin", "ssrf-admin-pass-1")
	id := func(out []byte) string {
		var v struct{ ID string }
		if err := json.Unmarshal(out, &v); err != nil || v.ID == "" {
			t.Fatalf("no id in %s", out)
		}
		return v.ID
	}
	notif := func(name, url string) string {
		cfg, _ := json.Marshal(map[string]string{"url": url})
		return id(od.api("POST", "/api/notifications", map[string]any{"name": name, "notif_type": "webhook", "config_json": string(cfg)}, http.StatusCreated))
	}
	prov := func(name, endpoint string) string {
		return id(od.api("POST", "/api/storage-providers", map[string]any{"name": name, "provider_type": "s3-compat",
			"endpoint": endpoint, "region": "us-east-1", "bucket": "latest", "access_key": "ak", "secret_key": "sk-secret-1",
			"path_style": true}, http.StatusCreated))
	}
	type result struct {
		Status, Error, Message string
		Success                bool
	}
	call := func(path string) (result, string) {
		out := od.api("POST", path, nil, http.StatusOK)
		var r result
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%s: %v: %s", path, err, out)
		}
		return r, string(out)
	}

	const refused = "blocked by the outbound network policy"
	for _, tc := range []struct{ name, path, want string }{
		{"webhook at metadata", "/api/notifications/" + notif("meta", "http://169.254.169.254/latest/meta-data/") + "/test", refused},
		{"s3 at metadata", "/api/storage-providers/" + prov("meta-s3", "http://169.254.169.254") + "/test", refused},
		{"webhook echoing 500", "/api/notifications/" + notif("echo", remote.URL+"/hook") + "/test", "HTTP 500"},
		{"s3 echoing 500", "/api/storage-providers/" + prov("echo-s3", remote.URL) + "/test", "HTTP 500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, raw := call(tc.path)
			if r.Success || r.Status == "sent" {
				t.Fatalf("test passed: %s", raw)
			}
			if !strings.Contains(r.Error, tc.want) {
				t.Errorf("error %q, want it to say %q", r.Error, tc.want)
			}
			if strings.Contains(raw, ssrfCanary) {
				t.Errorf("the answer echoes the remote body: %s", raw)
			}
			if len(r.Error) > 300+len("…") {
				t.Errorf("error is %d bytes long: %s", len(r.Error), r.Error)
			}
		})
	}
	if strings.Contains(od.logs.String(), ssrfCanary) {
		t.Errorf("the log echoes the remote body:\n%s", od.logs.String())
	}
}

// TestAllowNetworksSetting: the flag and JAGAD_ALLOW_NETWORKS set the
// outbound policy (flag wins); loopback only by default; a bad value is a
// usage error.
func TestAllowNetworksSetting(t *testing.T) {
	tests := []struct {
		env, flag, want string
		wantErr         bool
	}{
		{want: "loopback"},
		{env: "loopback,private", want: "loopback,private"},
		{env: "private", flag: "none", want: "none"},
		{env: "10.20.0.0/16", want: "10.20.0.0/16"},
		{env: "everywhere", wantErr: true},
	}
	for _, tt := range tests {
		env := map[string]string{}
		if tt.env != "" {
			env["JAGAD_ALLOW_NETWORKS"] = tt.env
		}
		var args []string
		if tt.flag != "" {
			args = []string{"--allow-networks", tt.flag}
		}
		c, err := parseServeFlags(args, io.Discard, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if (err != nil) != tt.wantErr {
			t.Errorf("env %q flag %q: error %v, wantErr %v", tt.env, tt.flag, err, tt.wantErr)
			continue
		}
		if err == nil && c.netPolicy.String() != tt.want {
			t.Errorf("env %q flag %q: policy %s, want %s", tt.env, tt.flag, c.netPolicy, tt.want)
		}
	}
}
