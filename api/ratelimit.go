package api

import (
	"sync"
	"time"
)

// Failed-login throttling. The rule:
//   - per client address: at most addrLimit failures per window; then every
//     login attempt from that address gets 429 until the oldest failure ages out;
//   - per (user name, address): at most pairLimit failures per window;
//   - per user name across all addresses: once userLimit failures pile up in
//     the window (a distributed guess), only addresses with a failure of
//     their own for that name are refused.
//
// No rule ever refuses an address that has not failed itself, so an attacker
// cannot lock the real admin out from another address; a distributed attacker
// is slowed to one guess per address per window. A successful login clears
// that address's counters. Client address: see clientAddr (X-Forwarded-For only from trusted proxies).
const (
	loginWindow = 5 * time.Minute
	addrLimit   = 10
	pairLimit   = 5
	userLimit   = 50
	maxTracked  = 100_000 // bound on remembered keys; older entries are pruned
)

type loginLimiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time // key → failure times inside the window, oldest first
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{fails: make(map[string][]time.Time)}
}

func addrKey(addr string) string       { return "a\x00" + addr }
func pairKey(user, addr string) string { return "p\x00" + user + "\x00" + addr }
func userKey(user string) string       { return "u\x00" + user }

// wait returns how long addr must wait before trying user again; 0: go ahead.
func (l *loginLimiter) wait(user, addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.over(addrKey(addr), addrLimit, now)
	w = max(w, l.over(pairKey(user, addr), pairLimit, now))
	if len(l.recent(pairKey(user, addr), now)) > 0 {
		w = max(w, l.over(userKey(user), userLimit, now))
	}
	return w
}

// fail records a failed attempt.
func (l *loginLimiter) fail(user, addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) >= maxTracked {
		l.prune(now)
	}
	for _, k := range []string{addrKey(addr), pairKey(user, addr), userKey(user)} {
		r := append(l.recent(k, now), now)
		if len(r) > userLimit { // only the newest `limit` entries matter
			r = r[len(r)-userLimit:]
		}
		l.fails[k] = r
	}
}

// succeed clears addr's counters.
func (l *loginLimiter) succeed(user, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, addrKey(addr))
	delete(l.fails, pairKey(user, addr))
}

// over returns the wait until key drops below limit failures.
func (l *loginLimiter) over(key string, limit int, now time.Time) time.Duration {
	r := l.recent(key, now)
	if len(r) < limit {
		return 0
	}
	return r[len(r)-limit].Add(loginWindow).Sub(now)
}

// recent returns key's failures inside the window, storing the trimmed slice.
func (l *loginLimiter) recent(key string, now time.Time) []time.Time {
	r := l.fails[key]
	i := 0
	for i < len(r) && now.Sub(r[i]) >= loginWindow {
		i++
	}
	if i == len(r) {
		delete(l.fails, key)
		return nil
	}
	if i > 0 {
		r = r[i:]
		l.fails[key] = r
	}
	return r
}

func (l *loginLimiter) prune(now time.Time) {
	for k := range l.fails {
		l.recent(k, now)
	}
	for k := range l.fails { // still full: forget the rest rather than grow without bound
		if len(l.fails) < maxTracked/2 {
			break
		}
		delete(l.fails, k)
	}
}
