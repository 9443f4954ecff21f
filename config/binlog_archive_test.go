package config

import (
	"strings"
	"testing"
)

func TestBinlogArchiveConfig(t *testing.T) {
	src := `version: 1
storage:
  - {name: vault, provider_type: local, path: /b}
connections:
  - name: maria
    db_type: mariadb
    host: h
    binlog_archive: {enabled: true, storage: vault}
  - name: pg
    db_type: postgresql
    host: h
    binlog_archive: {enabled: true}
  - name: my
    db_type: mysql
    host: h
    binlog_archive: {enabled: true, storage: nowhere}
`
	_, rep := parseString(t, src, Options{Resolve: true})
	got := diagStrings(rep.Errors())
	want := []string{
		`jagad.yaml:12:21: connection "pg": binlog_archive: binary log archiving needs db_type mysql or mariadb, got "postgresql"`,
		`jagad.yaml:16:46: connection "my": binlog_archive.storage "nowhere" is not defined`,
	}
	if len(got) != len(want) {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("error %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	f, rep := parseString(t, src[:strings.Index(src, "  - name: pg")], Options{Resolve: true})
	if f == nil || rep.HasErrors() {
		t.Fatalf("rejected: %v", rep.Diagnostics)
	}
	if a := f.Connections[0].BinlogArchive; a == nil || *a != (BinlogArchive{Enabled: true, Storage: "vault"}) {
		t.Fatalf("binlog_archive = %+v", a)
	}
}
