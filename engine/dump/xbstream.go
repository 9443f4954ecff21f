package dump

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// xbstream is mariadb-backup's stream format: a sequence of chunks, each
//
//	"XBSTCK01" flags(1) type(1) pathlen(u32le) path
//	type 'E' (end of a file): nothing more
//	type 'P' (payload): length(u64le) offset(u64le) crc32(u32le) payload
//
// CheckXbstream reads a whole stream and checks every chunk's framing and
// payload CRC-32, so a deep verify proves a physical backup readable
// without extracting it.

const xbMagic = "XBSTCK01"

// XbstreamStats describes a checked stream.
type XbstreamStats struct {
	Files  int   // files ended ('E' chunks)
	Chunks int   // payload chunks
	Bytes  int64 // payload bytes
}

// IsXbstream reports whether a stream starts like an xbstream.
func IsXbstream(head []byte) bool { return string(head) == xbMagic }

// CheckXbstream reads r to its end, checking every chunk.
func CheckXbstream(r io.Reader) (XbstreamStats, error) {
	var st XbstreamStats
	br := bufio.NewReaderSize(r, 256<<10)
	hdr := make([]byte, 14)
	buf := make([]byte, 256<<10)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			if errors.Is(err, io.EOF) && (st.Chunks > 0 || st.Files > 0) {
				return st, nil
			}
			if errors.Is(err, io.EOF) {
				return st, errors.New("xbstream: empty stream")
			}
			return st, fmt.Errorf("xbstream: truncated chunk header after %d chunks: %w", st.Chunks, err)
		}
		if string(hdr[:8]) != xbMagic {
			return st, fmt.Errorf("xbstream: bad chunk magic after %d chunks", st.Chunks)
		}
		typ := hdr[9]
		pathLen := binary.LittleEndian.Uint32(hdr[10:14])
		if pathLen == 0 || pathLen > 4096 {
			return st, fmt.Errorf("xbstream: implausible path length %d", pathLen)
		}
		if _, err := io.CopyN(io.Discard, br, int64(pathLen)); err != nil {
			return st, fmt.Errorf("xbstream: truncated path: %w", err)
		}
		switch typ {
		case 'E':
			st.Files++
			continue
		case 'P':
		default:
			return st, fmt.Errorf("xbstream: unknown chunk type %q", typ)
		}
		var meta [20]byte
		if _, err := io.ReadFull(br, meta[:]); err != nil {
			return st, fmt.Errorf("xbstream: truncated payload header: %w", err)
		}
		n := binary.LittleEndian.Uint64(meta[0:8])
		want := binary.LittleEndian.Uint32(meta[16:20])
		crc := crc32.NewIEEE()
		for left := n; left > 0; {
			k := min(left, uint64(len(buf)))
			if _, err := io.ReadFull(br, buf[:k]); err != nil {
				return st, fmt.Errorf("xbstream: truncated payload: %w", err)
			}
			_, _ = crc.Write(buf[:k])
			left -= k
		}
		if got := crc.Sum32(); got != want {
			return st, fmt.Errorf("xbstream: chunk %d: payload checksum %08x, recorded %08x", st.Chunks+1, got, want)
		}
		st.Chunks++
		st.Bytes += int64(n)
	}
}
