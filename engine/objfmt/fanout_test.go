package objfmt

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func fanDests(stores ...*pipeStore) []Dest {
	d := make([]Dest, len(stores))
	for i, s := range stores {
		d[i] = Dest{Store: s, Key: "k"}
	}
	return d
}

// One pass, three destinations: every one stores the same bytes, which are
// the bytes a single-destination upload would store (same checksum).
func TestFanoutStoresIdenticalObjects(t *testing.T) {
	data := testData(3<<20 + 12345)
	kr := newKeyring(t)
	a, b, c := &pipeStore{limit: -1}, &pipeStore{limit: -1}, &pipeStore{limit: -1}
	u, err := StartFanout(context.Background(), fanDests(a, b, c), "zstd", kr)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeChunks(u.Writer(), data); err != nil {
		t.Fatal(err)
	}
	put, err := u.Finish()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []*pipeStore{a, b, c} {
		if r := u.Results()[i]; r.Err != nil || r.N != put.N {
			t.Errorf("destination %d: %+v, want %d bytes", i, r, put.N)
		}
		if int64(s.got.Len()) != put.N || sha(s.got.Bytes()) != u.StoredChecksum() {
			t.Errorf("destination %d stored %d bytes (sha %s), want %d (sha %s)", i, s.got.Len(), sha(s.got.Bytes()), put.N, u.StoredChecksum())
		}
	}
	if !bytes.Equal(a.got.Bytes(), c.got.Bytes()) {
		t.Error("the primary and the last copy differ")
	}
}

// A copy that fails mid-stream is cut off: the primary and the other copy
// complete, its result carries its error, and the upload succeeds.
func TestFanoutCopyFailsMidStream(t *testing.T) {
	data := testData(4 << 20)
	boom := errors.New("bucket went away")
	primary, broken, other := &pipeStore{limit: -1}, &pipeStore{limit: 300 << 10, fail: boom}, &pipeStore{limit: -1}
	u, err := StartFanout(context.Background(), fanDests(primary, broken, other), "none", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeChunks(u.Writer(), data); err != nil {
		t.Fatalf("a copy's failure reached the dump: %v", err)
	}
	put, err := u.Finish()
	if err != nil {
		t.Fatalf("upload failed for a copy's failure: %v", err)
	}
	res := u.Results()
	if res[0].Err != nil || res[2].Err != nil || res[2].N != put.N || other.got.Len() != len(data) {
		t.Errorf("healthy destinations: %+v / %+v, other stored %d of %d", res[0], res[2], other.got.Len(), len(data))
	}
	if !errors.Is(res[1].Err, boom) {
		t.Errorf("broken destination's result = %+v, want %v", res[1], boom)
	}
}

// The primary failing fails the upload and ends every copy's stream.
func TestFanoutPrimaryFails(t *testing.T) {
	data := testData(4 << 20)
	boom := errors.New("disk full")
	primary, copy1 := &pipeStore{limit: 200 << 10, fail: boom}, &pipeStore{limit: -1}
	u, err := StartFanout(context.Background(), fanDests(primary, copy1), "none", nil)
	if err != nil {
		t.Fatal(err)
	}
	werr := writeChunks(u.Writer(), data)
	if werr == nil {
		_, werr = u.Finish()
	} else {
		_, werr = u.Abort(werr)
	}
	if werr == nil {
		t.Fatal("upload succeeded without its primary")
	}
	res := u.Results()
	if !errors.Is(res[0].Err, boom) || res[1].Err == nil {
		t.Errorf("results = %+v, want the primary's error and an aborted copy", res)
	}
	if copy1.readErr == nil {
		t.Error("the copy's Put saw a clean end of stream: it would have kept a partial object")
	}
}
