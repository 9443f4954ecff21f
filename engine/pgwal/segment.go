// Package pgwal is continuous WAL archiving: a supervisor that keeps
// pg_receivewal running on a replication slot, uploads every completed
// segment through a caller's function and removes the local copy only
// after the upload is confirmed, with a bounded spool and restart with
// backoff; and the arithmetic of WAL segment names and LSNs that restores
// and verification need. The supervisor is not WAL-specific underneath
// (Config.Tool, Config.Ready): the binary log archiver runs mariadb-binlog
// through it too.
package pgwal

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// SegmentSize is the WAL segment size Jagad supports (PostgreSQL's default).
const SegmentSize = 16 << 20

var (
	segmentRe = regexp.MustCompile(`^[0-9A-F]{24}$`)
	historyRe = regexp.MustCompile(`^[0-9A-F]{8}\.history$`)
)

// IsSegment reports whether name is a complete WAL segment file name.
func IsSegment(name string) bool { return segmentRe.MatchString(name) }

// IsArchivable reports whether name is a file the archive keeps: a
// complete segment or a timeline history file.
func IsArchivable(name string) bool { return IsSegment(name) || historyRe.MatchString(name) }

// Segment is a WAL segment: timeline and segment number.
type Segment struct {
	TLI uint32
	No  uint64 // LSN / SegmentSize
}

// Name is the segment's file name.
func (s Segment) Name() string {
	per := uint64(0x100000000 / SegmentSize)
	return fmt.Sprintf("%08X%08X%08X", s.TLI, uint32(s.No/per), uint32(s.No%per))
}

// Next is the following segment on the same timeline.
func (s Segment) Next() Segment { return Segment{TLI: s.TLI, No: s.No + 1} }

// EndLSN is the first LSN after the segment.
func (s Segment) EndLSN() uint64 { return (s.No + 1) * SegmentSize }

// ParseSegment parses a segment file name.
func ParseSegment(name string) (Segment, error) {
	if !IsSegment(name) {
		return Segment{}, fmt.Errorf("not a WAL segment name: %q", name)
	}
	tli, _ := strconv.ParseUint(name[:8], 16, 32)
	hi, _ := strconv.ParseUint(name[8:16], 16, 32)
	lo, _ := strconv.ParseUint(name[16:], 16, 32)
	per := uint64(0x100000000 / SegmentSize)
	return Segment{TLI: uint32(tli), No: hi*per + lo}, nil
}

// ParseLSN parses "X/Y".
func ParseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("not an LSN: %q", s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("not an LSN: %q", s)
	}
	return h<<32 | l, nil
}

// SegmentOf is the segment holding lsn on timeline tli.
func SegmentOf(tli uint32, lsn uint64) Segment { return Segment{TLI: tli, No: lsn / SegmentSize} }
