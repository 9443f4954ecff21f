package reconcile

import (
	"fmt"
	"strings"
)

// baseYAML declares one record of every kind and two settings keys.
const baseYAML = `version: 1
settings:
  timezone: UTC
  pg_dump_path: /usr/bin/pg_dump
storage:
  - name: local
    provider_type: local
    path: /var/backups/jagad
    is_default: true
connections:
  - name: pg
    db_type: postgresql
    host: db.example.com
    username: backup
    password: ${PG_PASSWORD}
    databases: [app]
notifications:
  - name: hook
    type: webhook
    config:
      url: ${HOOK_URL}
schedules:
  - name: nightly
    connection: pg
    database: app
    cron_expr: "0 2 * * *"
    notifications: [hook]
`

// extraYAML adds one more record of every kind (and a settings key) to baseYAML.
var extraYAML = strings.NewReplacer(
	"  pg_dump_path: /usr/bin/pg_dump\n",
	"  pg_dump_path: /usr/bin/pg_dump\n  compression: zstd\n",
	"connections:\n",
	"connections:\n  - name: my\n    db_type: mariadb\n    host: my.example.com\n    username: root\n    password: ${PG_PASSWORD}\n    databases: [shop]\n",
	"storage:\n",
	"storage:\n  - name: scratch\n    provider_type: local\n    path: /var/backups/scratch\n",
	"notifications:\n",
	"notifications:\n  - name: hook2\n    type: webhook\n    config:\n      url: ${HOOK_URL}\n",
	"schedules:\n",
	"schedules:\n  - name: weekly\n    connection: my\n    database: shop\n    cron_expr: \"0 3 * * 0\"\n    storage: scratch\n",
).Replace(baseYAML)

// manySchedulesYAML has one connection and n schedules of its database.
func manySchedulesYAML(n int) string {
	var b strings.Builder
	b.WriteString(`version: 1
storage:
  - name: local
    provider_type: local
    path: /var/backups/jagad
    is_default: true
connections:
  - name: pg
    db_type: postgresql
    host: db.example.com
    username: backup
    password: ${PG_PASSWORD}
schedules:
`)
	for i := range n {
		fmt.Fprintf(&b, "  - name: s%02d\n    connection: pg\n    database: app\n    cron_expr: \"%d 2 * * *\"\n", i, i%60)
	}
	return b.String()
}

// bigYAML has n connections, each with one database and one schedule.
// tag changes every connection's host, so that two tags differ in every record.
func bigYAML(n int, tag string) string {
	var b strings.Builder
	b.Grow(n * 300)
	b.WriteString("version: 1\nallow_mass_prune: true\nstorage:\n  - name: local\n    provider_type: local\n    path: /var/backups/jagad\n    is_default: true\nconnections:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: c%04d-%s\n    db_type: postgresql\n    host: h%04d.%s.example.com\n    username: backup\n    password: ${PG_PASSWORD}\n", i, tag, i, tag)
	}
	b.WriteString("schedules:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: s%04d-%s\n    connection: c%04d-%s\n    database: app\n    cron_expr: \"%d %d * * *\"\n", i, tag, i, tag, i%60, i%24)
	}
	return b.String()
}
