package retention

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jagad/jagad/engine/pgwal"
)

// Retention of continuous archives (PostgreSQL WAL, MySQL/MariaDB binary
// logs). A point-in-time restore starts from a kept backup and replays the
// archive from that backup's start on, so the archive before the oldest
// kept backup's start serves no restore: PruneWAL and PruneBinlogs decide
// which archived files go. Like Apply they are pure, keep rather than guess
// (no kept backup, an unreadable start: nothing is deleted), and give every
// file one decision with its reason. POLICY.md ("Archives") explains the
// rules for users.

// FileDecision is the verdict on one archived file.
type FileDecision struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// ArchiveResult holds one decision per archived file; both lists are in
// archive order (oldest first).
type ArchiveResult struct {
	Keep   []FileDecision `json:"keep"`
	Delete []FileDecision `json:"delete"`
}

// WALBase is a kept PostgreSQL base backup: the timeline and LSN its WAL
// replay starts at.
type WALBase struct {
	ID       string `json:"id"`
	Timeline int    `json:"timeline"`
	StartLSN string `json:"start_lsn"` // "X/Y"
}

// PruneWAL decides which archived WAL files (their file names: segments,
// timeline history files) to delete, given every kept successful base
// backup of the connection:
//
//   - no kept base, or a base whose start cannot be read: nothing goes;
//   - a segment whose number is below the start segment of the oldest kept
//     base goes, on every timeline: every restore from a kept base (and
//     every timeline it may follow, which branches off after the base's
//     start) replays only segments from its own start segment on;
//   - timeline history files are always kept (they are tiny, and recovery
//     reads them to follow a timeline switch);
//   - any other name is kept.
func PruneWAL(bases []WALBase, files []string) ArchiveResult {
	files = slices.Clone(files)
	slices.SortFunc(files, compareWAL)
	keepAll := func(reason string) ArchiveResult {
		r := ArchiveResult{Keep: []FileDecision{}, Delete: []FileDecision{}}
		for _, f := range files {
			r.Keep = append(r.Keep, FileDecision{f, reason})
		}
		return r
	}
	if len(bases) == 0 {
		return keepAll("no kept base backup")
	}
	var oldest WALBase
	var cut pgwal.Segment
	for i, b := range sortedBases(bases, func(b WALBase) string { return b.ID }) {
		lsn, err := pgwal.ParseLSN(b.StartLSN)
		if err != nil || b.Timeline < 1 {
			return keepAll(fmt.Sprintf("base backup %s has no readable start (timeline %d, start_lsn %q)", b.ID, b.Timeline, b.StartLSN))
		}
		s := pgwal.SegmentOf(uint32(b.Timeline), lsn)
		if i == 0 || s.No < cut.No {
			oldest, cut = b, s
		}
	}
	r := ArchiveResult{Keep: []FileDecision{}, Delete: []FileDecision{}}
	for _, f := range files {
		switch s, err := pgwal.ParseSegment(f); {
		case strings.HasSuffix(f, ".history") && pgwal.IsArchivable(f):
			r.Keep = append(r.Keep, FileDecision{f, "timeline history file"})
		case err != nil:
			r.Keep = append(r.Keep, FileDecision{f, "not a WAL segment name"})
		case s.No < cut.No:
			r.Delete = append(r.Delete, FileDecision{f, fmt.Sprintf("before %s, the start of the oldest kept base backup %s", cut.Name(), oldest.ID)})
		default:
			r.Keep = append(r.Keep, FileDecision{f, fmt.Sprintf("at or after %s, the start of the oldest kept base backup %s", cut.Name(), oldest.ID)})
		}
	}
	return r
}

// compareWAL orders WAL file names by segment number, then timeline
// (history files first, by name).
func compareWAL(x, y string) int {
	sx, ex := pgwal.ParseSegment(x)
	sy, ey := pgwal.ParseSegment(y)
	switch {
	case ex != nil && ey != nil:
		return strings.Compare(x, y)
	case ex != nil:
		return -1
	case ey != nil:
		return 1
	case sx.No != sy.No:
		return cmpUint(sx.No, sy.No)
	}
	return cmpUint(uint64(sx.TLI), uint64(sy.TLI))
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sortedBases orders bases by ID so that ties resolve the same whatever
// the input order.
func sortedBases[T any](bases []T, id func(T) string) []T {
	out := slices.Clone(bases)
	slices.SortStableFunc(out, func(x, y T) int { return strings.Compare(id(x), id(y)) })
	return out
}

// BinlogBase is a kept MySQL/MariaDB physical backup (a chain's full or
// one of its incrementals): the binary log file its replay starts in
// ("" when the server wrote no binary log then).
type BinlogBase struct {
	ID   string `json:"id"`
	File string `json:"binlog_file"`
}

// PruneBinlogs decides which archived binary log files (the server's names,
// mysql-bin.000042) to delete, given every kept successful physical backup
// of the connection:
//
//   - backups without binary log coordinates are left out; when none has
//     them, or a recorded file name has no sequence number, nothing goes;
//   - a file of the same sequence (base name) as the oldest kept backup's
//     file and numbered below it goes: a replay starts in the backup's file;
//   - files of a sequence no kept backup starts in are kept (the server's
//     log_bin_basename changed: their order relative to the kept backups is
//     unknown);
//   - the newest archived file is always kept: the archiver resumes after it.
func PruneBinlogs(bases []BinlogBase, files []string) ArchiveResult {
	files = slices.Clone(files)
	slices.SortFunc(files, compareBinlog)
	keepAll := func(reason string) ArchiveResult {
		r := ArchiveResult{Keep: []FileDecision{}, Delete: []FileDecision{}}
		for _, f := range files {
			r.Keep = append(r.Keep, FileDecision{f, reason})
		}
		return r
	}
	type start struct {
		id   string
		file string
		num  uint64
	}
	starts := map[string]start{} // by sequence base name
	for _, b := range sortedBases(bases, func(b BinlogBase) string { return b.ID }) {
		if b.File == "" {
			continue
		}
		seq, num, ok := binlogSeq(b.File)
		if !ok {
			return keepAll(fmt.Sprintf("backup %s records binary log %q, which has no sequence number", b.ID, b.File))
		}
		if s, ok := starts[seq]; !ok || num < s.num {
			starts[seq] = start{b.ID, b.File, num}
		}
	}
	if len(starts) == 0 {
		return keepAll("no kept physical backup with binary log coordinates")
	}
	r := ArchiveResult{Keep: []FileDecision{}, Delete: []FileDecision{}}
	for i, f := range files {
		seq, num, ok := binlogSeq(f)
		s, known := starts[seq]
		switch {
		case !ok:
			r.Keep = append(r.Keep, FileDecision{f, "not a binary log name"})
		case i == len(files)-1:
			r.Keep = append(r.Keep, FileDecision{f, "newest archived binary log (the archiver resumes after it)"})
		case !known:
			r.Keep = append(r.Keep, FileDecision{f, fmt.Sprintf("no kept backup starts in binary log sequence %s", seq)})
		case num < s.num:
			r.Delete = append(r.Delete, FileDecision{f, fmt.Sprintf("before %s, where the oldest kept physical backup %s starts", s.file, s.id)})
		default:
			r.Keep = append(r.Keep, FileDecision{f, fmt.Sprintf("at or after %s, where the oldest kept physical backup %s starts", s.file, s.id)})
		}
	}
	return r
}

// binlogSeq splits mysql-bin.000042 into mysql-bin and 42.
func binlogSeq(name string) (base string, num uint64, ok bool) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(name[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return name[:i], n, true
}

// compareBinlog orders binary log names by sequence base name, then number
// (names without a number first).
func compareBinlog(x, y string) int {
	bx, nx, okx := binlogSeq(x)
	by, ny, oky := binlogSeq(y)
	switch {
	case !okx && !oky:
		return strings.Compare(x, y)
	case !okx:
		return -1
	case !oky:
		return 1
	case bx != by:
		return strings.Compare(bx, by)
	}
	return cmpUint(nx, ny)
}
