package pgwal

import "testing"

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
