package engine

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/state"
)

// verifyBase verifies b (deep or quick) and returns the record after it.
func verifyBase(t *testing.T, h *harness, id string, deep bool) state.Backup {
	t.Helper()
	if err := h.eng.Verify(context.Background(), id, deep); err != nil {
		t.Fatal(err)
	}
	return h.waitVerified(id)
}

// TestVerifyBaseFollowsWAL: verifying a PostgreSQL base backup follows the
// archived WAL after it. Continuous, it passes (quick and deep) and says
// so; with a segment gone (object and manifest, later segments archived)
// both modes fail naming it, the failure is in the checks history, the
// gauge jagad_archive_verify_failed is 1, and VerifyArchive lists the gap;
// a later clean check (after the segment is back) clears the gauge.
func TestVerifyBaseFollowsWAL(t *testing.T) {
	h, srv, c, db, p := walFixture(t)
	st := h.storeFor(p)
	b := physicalBackup(t, h, c, db)
	victim := switchWAL(t, srv)
	after := switchWAL(t, srv)
	segs := waitArchived(t, st, c.Name, after)
	if _, ok := segs[victim]; !ok {
		t.Fatalf("segment %s not archived: %v", victim, segs)
	}
	gauge := h.eng.archiveChecks.failed.WithLabelValues(c.Name, ArchiveWAL)

	// The WAL since the base: its span, and the stats' incrementals.
	b = h.backup(b.ID)
	sp, err := h.eng.WALSpanOf(context.Background(), b)
	if err != nil || sp == nil || sp.Segments < 2 || sp.Last < after || sp.First > victim || sp.NextBaseID != "" {
		t.Fatalf("WAL span of the base: %+v, %v", sp, err)
	}
	incs, err := h.eng.WALIncrementals(context.Background())
	if err != nil || len(incs) != 1 || incs[0] != *sp {
		t.Fatalf("WAL incrementals: %+v, %v (span %+v)", incs, err, sp)
	}

	for _, deep := range []bool{true, false} {
		v := verifyBase(t, h, b.ID, deep)
		if v.VerifyStatus != state.VerifyPassed || !strings.Contains(v.LogOutput, "VERIFY: WAL archive continuous after the base backup") ||
			!strings.Contains(v.LogOutput, after) {
			t.Fatalf("verify (deep %v) of a base with a continuous archive: %s\n%s", deep, v.VerifyStatus, v.LogOutput)
		}
	}
	if testutil.ToFloat64(gauge) != 0 {
		t.Fatal("jagad_archive_verify_failed is not 0 after a passing check")
	}
	requireSeries(t, h.reg, "connection", c.Name, "jagad_archive_verify_failed", "jagad_archive_verify_timestamp_seconds")

	// Remove the victim: its object and its manifest.
	m := segs[victim]
	obj, man := readObject(t, st, m.ObjectKey), readObject(t, st, m.ObjectKey+objfmt.ManifestSuffix)
	for _, k := range []string{m.ObjectKey, m.ObjectKey + objfmt.ManifestSuffix} {
		if err := st.Delete(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
	for _, deep := range []bool{true, false} {
		v := verifyBase(t, h, b.ID, deep)
		if v.VerifyStatus != state.VerifyFailed || !strings.Contains(v.LogOutput, "WAL segment "+victim+" is missing") {
			t.Fatalf("verify (deep %v) over a gap: %s\n%s", deep, v.VerifyStatus, v.LogOutput)
		}
		if len(v.Checks) == 0 || v.Checks[0].Result != state.VerifyFailed || !strings.Contains(v.Checks[0].Error, victim) {
			t.Fatalf("checks history after a gap: %+v", v.Checks)
		}
		if testutil.ToFloat64(gauge) != 1 {
			t.Fatal("jagad_archive_verify_failed is not 1 after a gap")
		}
	}
	rep, err := h.eng.VerifyArchive(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.Archive != ArchiveWAL || !slices.Equal(rep.Gaps, []string{victim}) || rep.Last < after {
		t.Fatalf("archive report over a gap: %+v", rep)
	}

	// Put it back: the archive is whole again and the gauge clears.
	if _, err := st.Put(context.Background(), m.ObjectKey, bytes.NewReader(obj)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(context.Background(), m.ObjectKey+objfmt.ManifestSuffix, bytes.NewReader(man)); err != nil {
		t.Fatal(err)
	}
	if rep, err = h.eng.VerifyArchive(context.Background(), c.ID); err != nil || !rep.OK || len(rep.Gaps) != 0 {
		t.Fatalf("archive report once whole: %+v, %v", rep, err)
	}
	if testutil.ToFloat64(gauge) != 0 {
		t.Fatal("jagad_archive_verify_failed is not 0 after a passing archive check")
	}

	// A damaged segment of the chain (one byte flipped): both modes fail,
	// naming it.
	key := segs[after].ObjectKey
	damaged := readObject(t, st, key)
	damaged[len(damaged)/2] ^= 0xff
	if _, err := st.Put(context.Background(), key, bytes.NewReader(damaged)); err != nil {
		t.Fatal(err)
	}
	for _, deep := range []bool{true, false} {
		v := verifyBase(t, h, b.ID, deep)
		if v.VerifyStatus != state.VerifyFailed || !strings.Contains(v.Checks[0].Error, "WAL segment "+after) {
			t.Fatalf("verify (deep %v) of a damaged segment: %s %+v\n%s", deep, v.VerifyStatus, v.Checks[0], v.LogOutput)
		}
	}
}

// TestVerifyArchiveNeedsAnArchive: a connection that archives nothing is
// refused with a message saying what to set.
func TestVerifyArchiveNeedsAnArchive(t *testing.T) {
	h := newHarness(t)
	h.addLocalProvider("local")
	_, c, _ := physicalFixture(t, h)
	if _, err := h.eng.VerifyArchive(context.Background(), c.ID); err == nil || !strings.Contains(err.Error(), "wal_archive") {
		t.Fatalf("VerifyArchive without an archive: %v", err)
	}
	if _, err := h.eng.VerifyArchive(context.Background(), "conn_nope"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("VerifyArchive of a missing connection: %v", err)
	}
}

// TestSpanOf: the segments after a base's stop segment, up to the next
// base's, on its timeline or later ones.
func TestSpanOf(t *testing.T) {
	phys := func(start, stop string) *state.PhysicalInfo {
		return &state.PhysicalInfo{StartLSN: start, StopLSN: stop, Timeline: 1}
	}
	b := state.Backup{ID: "bck_a", Physical: phys("0/2000028", "0/3000100")}
	next := state.Backup{ID: "bck_b", Physical: phys("0/5000028", "0/5000100")}
	names := []string{"000000010000000000000002", "000000010000000000000003", "000000010000000000000004",
		"000000010000000000000005", "000000010000000000000006", "000000020000000000000007"}
	sp := spanOf(b, nil, state.Connection{}, names)
	if sp.StartSegment != "000000010000000000000002" || sp.Segments != 4 || sp.First != "000000010000000000000004" || sp.Last != "000000020000000000000007" {
		t.Errorf("newest base: %+v", sp)
	}
	sp = spanOf(b, &next, state.Connection{}, names)
	if sp.Segments != 2 || sp.Last != "000000010000000000000005" || sp.NextBaseID != "bck_b" {
		t.Errorf("base with a next one: %+v", sp)
	}
}
