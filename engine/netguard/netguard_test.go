package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestPolicyCheck(t *testing.T) {
	def := DefaultPolicy()
	priv := Policy{Loopback: true, Private: true}
	none := Policy{}
	extra := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}
	tests := []struct {
		name    string
		policy  Policy
		addr    string
		wantErr string // "" allowed, else the reason
	}{
		{"public v4", def, "93.184.216.34", ""},
		{"public v6", def, "2606:4700::1111", ""},
		{"metadata v4", def, "169.254.169.254", "link-local"},
		{"metadata v4 even with private allowed", priv, "169.254.169.254", "link-local"},
		{"link-local v6", priv, "fe80::1", "link-local"},
		{"v4-mapped metadata", def, "::ffff:169.254.169.254", "link-local"},
		{"aws v6 metadata in fc00::/7", priv, "fd00:ec2::254", "cloud metadata"},
		{"alibaba metadata in 100.64/10", priv, "100.100.100.200", "cloud metadata"},
		{"loopback by default", def, "127.0.0.1", ""},
		{"loopback v6 by default", def, "::1", ""},
		{"loopback refused by none", none, "127.0.0.1", "loopback"},
		{"10/8 refused by default", def, "10.0.0.5", "private"},
		{"172.16/12 refused by default", def, "172.20.1.1", "private"},
		{"192.168/16 refused by default", def, "192.168.1.10", "private"},
		{"fc00::/7 refused by default", def, "fd12::1", "private"},
		{"10/8 allowed by private", priv, "10.0.0.5", ""},
		{"unspecified", priv, "0.0.0.0", "unspecified"},
		{"multicast", priv, "224.0.0.1", "multicast"},
		{"explicit prefix", extra, "10.1.2.3", ""},
		{"outside explicit prefix", extra, "10.2.2.3", "private"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(netip.MustParseAddr(tt.addr))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want allowed", tt.addr, err)
				}
				return
			}
			if !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Check(%s) = %v, want blocked (%s)", tt.addr, err, tt.wantErr)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", "loopback", false},
		{"none", "none", false},
		{"loopback,private", "loopback,private", false},
		{" private , 10.9.0.0/16 ", "private,10.9.0.0/16", false},
		{"192.168.1.7", "192.168.1.7/32", false},
		{"everything", "", true},
		{"10.0.0.0/99", "", true},
	}
	for _, tt := range tests {
		p, err := ParsePolicy(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParsePolicy(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && p.String() != tt.want {
			t.Errorf("ParsePolicy(%q) = %s, want %s", tt.in, p, tt.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, h := range []string{"metadata.google.internal", "METADATA.google.internal.", "metadata", "instance-data.ec2.internal"} {
		if err := CheckName(h); !errors.Is(err, ErrBlocked) {
			t.Errorf("CheckName(%q) = %v, want blocked", h, err)
		}
	}
	for _, h := range []string{"hooks.slack.com", "metadata.example.com", "127.0.0.1"} {
		if err := CheckName(h); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", h, err)
		}
	}
}

// TestGuardRefusesAtDialTime sends real HTTP requests through the guard's
// transport: a literal metadata address, a name the resolver maps to it (a
// rebinding name), and a metadata name are refused before any packet leaves;
// a name that resolves to an allowed loopback server gets through.
func TestGuardRefusesAtDialTime(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))

	var lookups atomic.Int64
	g := New(Options{Policy: DefaultPolicy(), LookupIP: func(_ context.Context, host string) ([]netip.Addr, error) {
		lookups.Add(1)
		switch host {
		case "rebind.test":
			return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
		case "mixed.test": // a blocked address first, an allowed one after
			return []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("127.0.0.1")}, nil
		case "ok.test":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}})
	client := &http.Client{Transport: g.Transport()}
	defer client.CloseIdleConnections()

	refused := []struct{ url, reason string }{
		{"http://169.254.169.254/latest/meta-data/", "link-local"},
		{"http://[fe80::1]:" + port + "/", "link-local"},
		{"http://rebind.test:" + port + "/", "link-local"},
		{"http://metadata.google.internal/computeMetadata/v1/", "cloud metadata"},
		{"http://10.0.0.1:" + port + "/", "private"},
	}
	for _, r := range refused {
		resp, err := client.Get(r.url)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s succeeded, want refused", r.url)
			continue
		}
		if !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), r.reason) {
			t.Errorf("GET %s: %v, want ErrBlocked (%s)", r.url, err, r.reason)
		}
	}
	for _, u := range []string{"http://ok.test:" + port + "/", "http://mixed.test:" + port + "/", srv.URL} {
		resp, err := client.Get(u)
		if err != nil {
			t.Errorf("GET %s: %v, want allowed", u, err)
			continue
		}
		resp.Body.Close()
	}
	if hits.Load() != 3 {
		t.Errorf("server saw %d requests, want 3 (only the allowed ones)", hits.Load())
	}
	if lookups.Load() == 0 {
		t.Error("the injected resolver was never asked")
	}
}

// TestGuardControlRechecks: the dialer's Control function refuses a blocked
// address even when DialContext's own checks are bypassed.
func TestGuardControlRechecks(t *testing.T) {
	g := New(Options{Policy: Policy{}})
	_, err := g.dialer.DialContext(context.Background(), "tcp", "127.0.0.1:9")
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("dial 127.0.0.1 with loopback refused: %v, want ErrBlocked", err)
	}
}
