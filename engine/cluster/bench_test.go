package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/cluster/etcdtest"
)

// BenchmarkClaimRelease: the overhead a run pays in cluster mode (the
// owner's claim transaction, then recording the slot as finished) with
// 1,000 schedules over 3 members on a real etcd. Reports p99 in ms.
func BenchmarkClaimRelease(b *testing.B) {
	srv := etcdtest.Start(b)
	ids := scheduleIDs(1000)
	var ms []*Member
	for _, id := range []string{"m1", "m2", "m3"} {
		m, err := Join(Options{Endpoints: []string{srv.Endpoint()}, Group: "bench", ID: id, LeaseTTL: 10 * time.Second,
			Schedules: func() []string { return ids }})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { m.Close() })
		ms = append(ms, m)
	}
	deadline := time.Now().Add(time.Minute)
	for len(ms[0].Members()) != 3 || len(ms[1].Members()) != 3 || len(ms[2].Members()) != 3 {
		if time.Now().After(deadline) {
			b.Fatal("members did not see each other")
		}
		time.Sleep(20 * time.Millisecond)
	}
	byID := map[string]*Member{"m1": ms[0], "m2": ms[1], "m3": ms[2]}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := ids[i%len(ids)]
		slot := base.Add(time.Duration(i/len(ids)) * time.Minute)
		m := byID[ms[0].Owner(id)]
		start := time.Now()
		rel, ok := m.Claim(id, slot)
		if !ok {
			b.Fatalf("owner %s could not claim %s at %v", m.ID(), id, slot)
		}
		rel()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkFailover: failure detection. Three members share 30 schedules;
// the member that owns a share is running one slot of each when it is cut
// from etcd at once (as a kill -9 or a network loss: no revoke, its lease
// has to expire). Measured: from the cut until every one of its slots has
// been claimed again by the survivors (lease expiry in etcd, the member
// watch, the catch-up pass, the claim). Reports the mean and worst time in
// seconds, the lease TTL they follow, and worst/TTL; the goal is within
// TTL + 5 s (budget-s, the worst's margin to it, stays positive).
func BenchmarkFailover(b *testing.B) {
	srv := etcdtest.Start(b)
	const ttl = 3 * time.Second
	ids := scheduleIDs(30)
	var total, worst time.Duration
	b.StopTimer() // only the failover itself is timed
	for i := 0; i < b.N; i++ {
		group := fmt.Sprintf("failover-%d", i)
		px := newProxy(b, strings.TrimPrefix(srv.Endpoint(), "http://"))
		var (
			mu       sync.Mutex
			claimed  = map[string]time.Time{}
			victimOf = map[string]bool{}
		)
		slot := time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC)
		var ms []*Member
		for k, id := range []string{"m0", "m1", "m2"} {
			ep := srv.Endpoint()
			if k == 0 {
				ep = "http://" + px.addr()
			}
			m, err := Join(Options{Endpoints: []string{ep}, Group: group, ID: id, LeaseTTL: ttl,
				Schedules: func() []string { return ids }, CallTimeout: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			ms = append(ms, m)
		}
		waitForB(b, "three members", func() bool {
			return len(ms[0].Members()) == 3 && len(ms[1].Members()) == 3 && len(ms[2].Members()) == 3
		})
		for _, id := range ids {
			if !ms[0].Owns(id) {
				continue
			}
			if _, ok := ms[0].Claim(id, slot); !ok {
				b.Fatalf("m0 could not claim its %s", id)
			}
			victimOf[id] = true
		}
		ctx, cancel := context.WithCancel(context.Background())
		for _, m := range ms[1:] {
			go m.Follow(ctx, time.Second, func(id string, _, cut time.Time) {
				if !cut.Equal(slot) {
					return
				}
				if rel, ok := m.Claim(id, cut); ok {
					mu.Lock()
					claimed[id] = time.Now()
					mu.Unlock()
					rel()
				}
			})
		}
		b.StartTimer()
		t0 := time.Now()
		px.cut()
		waitForB(b, "the victim's share claimed elsewhere", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(claimed) == len(victimOf)
		})
		b.StopTimer()
		var last time.Time
		for id := range victimOf {
			if claimed[id].After(last) {
				last = claimed[id]
			}
		}
		d := last.Sub(t0)
		total += d
		worst = max(worst, d)
		cancel()
		for _, m := range ms {
			m.Close()
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "detect-s")
	b.ReportMetric(worst.Seconds(), "worst-s")
	b.ReportMetric(ttl.Seconds(), "ttl-s")
	b.ReportMetric(worst.Seconds()/ttl.Seconds(), "worst/ttl")
	b.ReportMetric((ttl + 5*time.Second - worst).Seconds(), "budget-s")
}

// waitForB waits for cond, failing after a minute.
func waitForB(b *testing.B, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
