// Package netguard decides which addresses Jagad's outbound connections
// (webhooks, chat APIs, SMTP, S3 endpoints) may reach, so that a URL typed
// into a notification target or a storage provider cannot make the daemon
// talk to a cloud metadata service or the hosts of a private network.
//
// The check runs at dial time on the resolved address: a name is resolved
// once, every address it resolves to is checked, and only an allowed address
// is dialled. A name that resolves to a public address when it is validated
// and to 169.254.169.254 when it is used (DNS rebinding) is refused.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked is wrapped by every refusal of this package.
var ErrBlocked = errors.New("blocked by the outbound network policy")

// BlockedError says which address was refused and why.
type BlockedError struct {
	Host   string // the name or address that was dialled
	Addr   string // the resolved address, when there was one
	Reason string // "link-local", "cloud metadata", "private", "loopback", ...
}

func (e *BlockedError) Error() string {
	target := e.Host
	if e.Addr != "" && e.Addr != e.Host {
		target += " (" + e.Addr + ")"
	}
	return fmt.Sprintf("connection to %s refused: %s address %s", target, e.Reason, ErrBlocked)
}

func (e *BlockedError) Unwrap() error { return ErrBlocked }

// Policy is the set of address ranges outbound connections may reach beyond
// the public internet. The zero Policy allows public addresses only.
type Policy struct {
	Loopback bool           // 127.0.0.0/8, ::1
	Private  bool           // 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7
	Allow    []netip.Prefix // extra ranges, allowed even when blocked otherwise
}

// DefaultPolicy allows loopback (make run and the tests use 127.0.0.1) and
// public addresses.
func DefaultPolicy() Policy { return Policy{Loopback: true} }

// ParsePolicy reads a comma-separated list of "loopback", "private", "none"
// and CIDR prefixes or addresses. "" is DefaultPolicy; "none" alone allows
// public addresses only.
func ParsePolicy(s string) (Policy, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultPolicy(), nil
	}
	var p Policy
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch strings.ToLower(f) {
		case "":
		case "none":
		case "loopback":
			p.Loopback = true
		case "private":
			p.Private = true
		default:
			pfx, err := parsePrefix(f)
			if err != nil {
				return Policy{}, fmt.Errorf("%q: want loopback, private, none, a CIDR prefix or an address", f)
			}
			p.Allow = append(p.Allow, pfx)
		}
	}
	return p, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// String is the policy in ParsePolicy's syntax.
func (p Policy) String() string {
	var parts []string
	if p.Loopback {
		parts = append(parts, "loopback")
	}
	if p.Private {
		parts = append(parts, "private")
	}
	for _, a := range p.Allow {
		parts = append(parts, a.String())
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

var (
	// metadataAddrs are cloud metadata services outside 169.254.0.0/16:
	// AWS over IPv6 and Alibaba Cloud. Blocked whatever the policy allows.
	metadataAddrs = []netip.Addr{
		netip.MustParseAddr("fd00:ec2::254"),
		netip.MustParseAddr("100.100.100.200"),
	}
	// metadataNames are the names of metadata services (GCP, AWS, Azure,
	// OpenStack, Oracle); refused before any lookup.
	metadataNames = []string{
		"metadata.google.internal", "metadata.goog", "metadata",
		"instance-data", "instance-data.ec2.internal", "metadata.azure.internal",
		"metadata.tencentyun.com", "metadata.oraclecloud.com",
	}
	linkLocal4 = netip.MustParsePrefix("169.254.0.0/16")
	linkLocal6 = netip.MustParsePrefix("fe80::/10")
	private    = []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
		netip.MustParsePrefix("fc00::/7"),
	}
)

// CheckName refuses the names of cloud metadata services.
func CheckName(host string) error {
	h := strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	for _, n := range metadataNames {
		if h == n {
			return &BlockedError{Host: host, Reason: "cloud metadata"}
		}
	}
	return nil
}

// Check returns nil when the policy lets connections reach a, or a
// *BlockedError naming the range it falls in.
func (p Policy) Check(a netip.Addr) error {
	a = a.Unmap()
	for _, m := range metadataAddrs {
		if a == m {
			return &BlockedError{Host: a.String(), Reason: "cloud metadata"}
		}
	}
	for _, pfx := range p.Allow {
		if pfx.Contains(a) {
			return nil
		}
	}
	reason := ""
	switch {
	case !a.IsValid() || a.IsUnspecified():
		reason = "unspecified"
	case linkLocal4.Contains(a) || linkLocal6.Contains(a):
		reason = "link-local" // includes 169.254.169.254, the metadata service
	case a.IsMulticast():
		reason = "multicast"
	case a.IsLoopback():
		if !p.Loopback {
			reason = "loopback"
		}
	case isPrivate(a):
		if !p.Private {
			reason = "private"
		}
	}
	if reason != "" {
		return &BlockedError{Host: a.String(), Reason: reason}
	}
	return nil
}

func isPrivate(a netip.Addr) bool {
	for _, pfx := range private {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// Guard dials TCP connections for HTTP clients and SMTP, refusing addresses
// its policy does not allow.
type Guard struct {
	policy Policy
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	dialer net.Dialer
}

// Options configure a Guard.
type Options struct {
	Policy Policy
	// LookupIP resolves a name (nil: the system resolver). Tests inject one
	// to map a name to a blocked address without touching /etc/hosts.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
	// DialTimeout bounds one connection attempt (default 30 s).
	DialTimeout time.Duration
}

// New returns a Guard.
func New(o Options) *Guard {
	g := &Guard{policy: o.Policy, lookup: o.LookupIP}
	if g.lookup == nil {
		g.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	g.dialer = net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second, Control: g.control}
	if g.dialer.Timeout <= 0 {
		g.dialer.Timeout = 30 * time.Second
	}
	return g
}

// Policy returns the guard's policy.
func (g *Guard) Policy() Policy { return g.policy }

// DialContext resolves addr's host, checks every address, and dials the
// allowed ones in order until one connects. It has net.Dialer's signature,
// for http.Transport.DialContext.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", network, err)
	}
	if err := CheckName(host); err != nil {
		return nil, err
	}
	addrs, err := g.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, a := range addrs {
		if err := g.policy.Check(a); err != nil {
			var be *BlockedError
			if errors.As(err, &be) {
				be.Host, be.Addr = host, a.String()
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		conn, err := g.dialer.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil || errors.Is(firstErr, ErrBlocked) {
			firstErr = err
		}
	}
	return nil, firstErr
}

func (g *Guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a.WithZone("")}, nil
	}
	addrs, err := g.lookup(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	return addrs, nil
}

// control re-checks the address the socket is about to connect to: the last
// line, should anything hand the dialer a name or an unchecked address.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, ErrBlocked)
	}
	return g.policy.Check(ap.Addr())
}
