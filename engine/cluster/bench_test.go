package cluster

import (
	"sort"
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
