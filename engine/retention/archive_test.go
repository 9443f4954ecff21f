package retention

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jagad/jagad/engine/pgwal"
)

// archiveScenario is one golden file of testdata/archive. Everything but
// Want is written by hand; -update rewrites Want only. ExpectDelete is the
// hand-checked list of deleted files, never touched by -update.
type archiveScenario struct {
	Description string       `json:"description"`
	Kind        string       `json:"kind"` // wal | binlog
	WALBases    []WALBase    `json:"wal_bases,omitempty"`
	BinlogBases []BinlogBase `json:"binlog_bases,omitempty"`
	// Files are the archived file names; WALRange adds segments.
	Files        []string          `json:"files,omitempty"`
	WALRange     []walRange        `json:"wal_range,omitempty"`
	ExpectDelete []string          `json:"expect_delete"`
	ExpectReason map[string]string `json:"expect_reason,omitempty"` // file → substring of its reason
	Want         *ArchiveResult    `json:"want,omitempty"`
}

// walRange expands to the segments From..To (numbers) of a timeline.
type walRange struct {
	Timeline int    `json:"timeline"`
	From     uint64 `json:"from"`
	To       uint64 `json:"to"`
}

func (sc archiveScenario) files() []string {
	out := slices.Clone(sc.Files)
	for _, r := range sc.WALRange {
		for n := r.From; n <= r.To; n++ {
			out = append(out, pgwal.Segment{TLI: uint32(r.Timeline), No: n}.Name())
		}
	}
	return out
}

func TestArchiveGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "archive", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 12 {
		t.Fatalf("found %d archive scenarios, want at least 12", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) { runArchiveGolden(t, file) })
	}
}

func runArchiveGolden(t *testing.T, file string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var sc archiveScenario
	if err := dec.Decode(&sc); err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	in := sc.files()
	var got ArchiveResult
	switch sc.Kind {
	case "wal":
		got = PruneWAL(sc.WALBases, in)
		checkWALInvariants(t, sc.WALBases, got)
	case "binlog":
		got = PruneBinlogs(sc.BinlogBases, in)
		checkBinlogInvariants(t, sc.BinlogBases, got)
	default:
		t.Fatalf("kind %q, want wal or binlog", sc.Kind)
	}
	// Every input file gets exactly one decision.
	var names []string
	for _, d := range append(slices.Clone(got.Keep), got.Delete...) {
		names = append(names, d.Name)
	}
	slices.Sort(names)
	want := slices.Clone(in)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("decisions for %v, want one for each of %v", names, want)
	}
	if sc.ExpectDelete == nil {
		t.Fatal("scenario has no expect_delete (use [] for none)")
	}
	gotDel := make([]string, len(got.Delete))
	for i, d := range got.Delete {
		gotDel[i] = d.Name
	}
	wantDel := slices.Clone(sc.ExpectDelete)
	slices.Sort(gotDel)
	slices.Sort(wantDel)
	if !slices.Equal(gotDel, wantDel) {
		t.Errorf("deleted %v, want %v", gotDel, wantDel)
	}
	for f, sub := range sc.ExpectReason {
		i := slices.IndexFunc(append(slices.Clone(got.Keep), got.Delete...), func(d FileDecision) bool { return d.Name == f })
		if i < 0 {
			t.Errorf("expect_reason names %s, which has no decision", f)
			continue
		}
		if r := append(slices.Clone(got.Keep), got.Delete...)[i].Reason; !strings.Contains(r, sub) {
			t.Errorf("%s: reason %q lacks %q", f, r, sub)
		}
	}
	if *update {
		sc.Want = &got
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sc); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if sc.Want == nil {
		t.Fatalf("%s has no want section; run go test -update", file)
	}
	if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", *sc.Want); g != w {
		t.Errorf("result differs from %s (rerun with -update after checking):\ngot  %s\nwant %s", file, g, w)
	}
}

// checkWALInvariants: no history file is deleted, and no segment a kept
// base replays (its start segment number or later) is deleted.
func checkWALInvariants(t *testing.T, bases []WALBase, r ArchiveResult) {
	t.Helper()
	if len(bases) == 0 && len(r.Delete) > 0 {
		t.Errorf("deleted %d files with no kept base", len(r.Delete))
	}
	for _, d := range r.Delete {
		if strings.HasSuffix(d.Name, ".history") {
			t.Errorf("history file %s deleted", d.Name)
		}
		s, err := pgwal.ParseSegment(d.Name)
		if err != nil {
			t.Errorf("deleted %s, not a segment", d.Name)
			continue
		}
		for _, b := range bases {
			lsn, err := pgwal.ParseLSN(b.StartLSN)
			if err != nil {
				t.Errorf("deleted %s although base %s has no readable start", d.Name, b.ID)
				continue
			}
			if s.No >= pgwal.SegmentOf(uint32(b.Timeline), lsn).No {
				t.Errorf("deleted %s, which base %s (start %s) replays", d.Name, b.ID, b.StartLSN)
			}
		}
	}
}

// checkBinlogInvariants: no file at or after a kept backup's file of the
// same sequence is deleted, nor the newest archived file.
func checkBinlogInvariants(t *testing.T, bases []BinlogBase, r ArchiveResult) {
	t.Helper()
	all := append(slices.Clone(r.Keep), r.Delete...)
	slices.SortFunc(all, func(x, y FileDecision) int { return compareBinlog(x.Name, y.Name) })
	for _, d := range r.Delete {
		if len(all) > 0 && d.Name == all[len(all)-1].Name {
			t.Errorf("newest archived file %s deleted", d.Name)
		}
		seq, num, ok := binlogSeq(d.Name)
		if !ok {
			t.Errorf("deleted %s, not a binary log name", d.Name)
			continue
		}
		needed := false
		for _, b := range bases {
			bs, bn, ok := binlogSeq(b.File)
			if b.File != "" && !ok {
				t.Errorf("deleted %s although backup %s has an unreadable binary log name", d.Name, b.ID)
			}
			if ok && bs == seq {
				needed = true
				if num >= bn {
					t.Errorf("deleted %s, which backup %s (from %s) replays", d.Name, b.ID, b.File)
				}
			}
		}
		if !needed {
			t.Errorf("deleted %s of a sequence no kept backup starts in", d.Name)
		}
	}
}
