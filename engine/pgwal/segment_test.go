package pgwal

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSegmentNames(t *testing.T) {
	lsn, err := ParseLSN("1/A2000028")
	if err != nil {
		t.Fatal(err)
	}
	s := SegmentOf(1, lsn)
	if s.Name() != "0000000100000001000000A2" {
		t.Fatalf("segment of 1/A2000028 = %s", s.Name())
	}
	back, err := ParseSegment(s.Name())
	if err != nil || back != s {
		t.Fatalf("parse %s = %+v, %v", s.Name(), back, err)
	}
	if n := (Segment{TLI: 1, No: 255}).Next().Name(); n != "000000010000000100000000" {
		t.Fatalf("next of ...FF = %s", n)
	}
	if !IsArchivable("00000002.history") || IsArchivable("000000010000000100000000.partial") {
		t.Fatal("archivable names")
	}
	if _, err := ParseLSN("nope"); err == nil {
		t.Fatal("bad LSN accepted")
	}
}

// A .partial cut off while pg_receivewal zero-filled it is removed before
// the next start; whole and empty ones, and completed segments, stay.
func TestDropTornPartials(t *testing.T) {
	dir := t.TempDir()
	files := map[string]int64{
		"000000010000000000000003.partial": 3047424,
		"000000010000000000000004.partial": SegmentSize,
		"000000010000000000000005.partial": 0,
		"000000010000000000000002":         100,
	}
	for name, size := range files {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	New(Config{SpoolDir: dir}).dropTornPartials()
	for name := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if gone := os.IsNotExist(err); gone != (name == "000000010000000000000003.partial") {
			t.Errorf("%s: removed = %v", name, gone)
		}
	}
}
