package config

import (
	"fmt"
	"strings"
	"testing"
)

// bigFile generates a file with n connections and n schedules.
func bigFile(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nsettings:\n  timezone: Europe/Berlin\nstorage:\n  - name: disk\n    provider_type: local\n    path: /srv/b\n    is_default: true\n")
	b.WriteString("notifications:\n  - name: ops\n    type: slack\n    config:\n      webhook_url: ${SLACK_URL}\nconnections:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: conn-%d\n    db_type: postgresql\n    host: db-%d.internal\n    port: ${PG_PORT:-5432}\n    username: backup\n    password: ${PG_PASSWORD}\n    databases: [app, billing]\n", i, i)
	}
	b.WriteString("schedules:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: sched-%d\n    connection: conn-%d\n    database: app\n    cron_expr: \"%d %d * * *\"\n    storage: disk\n    retention_full: 14\n    keep_within: 30d\n    notifications: [ops]\n    timeout: 2h\n", i, i, i%60, i%24)
	}
	return []byte(b.String())
}

func TestBigFileParses(t *testing.T) {
	f, rep := Parse("big.yaml", bigFile(50), Options{LookupEnv: testEnv, Resolve: true})
	if f == nil || len(rep.Diagnostics) != 0 || len(f.Connections) != 50 || len(f.Schedules) != 50 {
		t.Fatalf("big file: %v", rep.Diagnostics)
	}
	if f.Connections[49].Port != 6543 {
		t.Errorf("port = %d", f.Connections[49].Port)
	}
}

func BenchmarkParse1000(b *testing.B) {
	data := bigFile(1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, rep := Parse("big.yaml", data, Options{LookupEnv: testEnv, Resolve: true})
		if f == nil || len(rep.Diagnostics) != 0 {
			b.Fatalf("rejected: %v", rep.Diagnostics[:1])
		}
	}
}
