package netguard

import (
	"net/http"
	"time"
)

// Transport returns an HTTP transport whose connections go through g. It
// honours HTTP(S)_PROXY; a proxy's own address is checked like any other,
// but the names it resolves for us are not (allow the proxy, trust it).
func (g *Guard) Transport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           g.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}
