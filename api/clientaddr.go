package api

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address of the client a request comes from: the peer
// address, unless the peer is a trusted proxy. Then X-Forwarded-For is read
// from the right (the entry the nearest proxy appended) past every trusted
// proxy, and the first address that is not one is the client: addresses to
// its left were written by the client itself and could be anything. Login
// throttling counts failures per this address, so behind a proxy that is not
// trusted every client shares the proxy's budget.
func (s *server) clientAddr(r *http.Request) string {
	peer := peerAddr(r)
	ip, err := netip.ParseAddr(peer)
	if err != nil || !s.trusted(ip) {
		return peer
	}
	hops := forwardedFor(r)
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(hops[i])
		if err != nil {
			return peer // a garbled chain names nobody reliably
		}
		if !s.trusted(hop) {
			return hop.Unmap().String()
		}
	}
	if len(hops) > 0 { // every hop is a trusted proxy: the first one is the client
		first, _ := netip.ParseAddr(hops[0]) // parsed above
		return first.Unmap().String()
	}
	return peer
}

// viaHTTPSProxy reports whether a trusted proxy says the client used HTTPS.
func (s *server) viaHTTPSProxy(r *http.Request) bool {
	ip, err := netip.ParseAddr(peerAddr(r))
	return err == nil && s.trusted(ip) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (s *server) trusted(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range s.proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// peerAddr is the host of RemoteAddr.
func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// forwardedFor lists the X-Forwarded-For entries of every such header, in order.
func forwardedFor(r *http.Request) []string {
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, part := range strings.Split(h, ",") {
			if part = strings.TrimSpace(part); part != "" {
				hops = append(hops, part)
			}
		}
	}
	return hops
}

// ParseTrustedProxies parses a comma-separated list of CIDR prefixes and
// single addresses (JAGAD_TRUSTED_PROXIES).
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(part)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
	}
	return out, nil
}

// ParseTrustedOrigins parses a comma-separated list of origins
// ("scheme://host[:port]", JAGAD_TRUSTED_ORIGINS) whose pages may send
// cookie-authenticated writes although they are not the server's own origin.
func ParseTrustedOrigins(list string) ([]string, error) {
	var out []string
	check := http.NewCrossOriginProtection()
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if err := check.AddTrustedOrigin(part); err != nil {
			return nil, fmt.Errorf("origin %q: %w", part, err)
		}
		out = append(out, part)
	}
	return out, nil
}
