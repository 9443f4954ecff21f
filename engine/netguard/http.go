package netguard

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Transport returns an HTTP transport whose connections go through g. It
// honours HTTP(S)_PROXY: the proxy's own address is checked like any other
// and so are a target's literal address and name, but a name the proxy
// resolves for us is the proxy's to police.
func (g *Guard) Transport() *http.Transport {
	return &http.Transport{
		Proxy:                 g.proxy,
		DialContext:           g.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}

func (g *Guard) proxy(r *http.Request) (*url.URL, error) {
	u, err := http.ProxyFromEnvironment(r)
	if err != nil || u == nil {
		return u, err
	}
	host := r.URL.Hostname()
	if err := CheckName(host); err != nil {
		return nil, err
	}
	if a, perr := netip.ParseAddr(strings.Trim(host, "[]")); perr == nil {
		if err := g.policy.Check(a.WithZone("")); err != nil {
			return nil, err
		}
	}
	return u, nil
}
