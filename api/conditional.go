package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// gzipMin: bodies up to this many bytes go out as they are; below about a
// kilobyte gzip's header and the CPU cost more than the bytes saved.
const gzipMin = 1024

// etagOf is a strong validator of a JSON body: a SHA-256 prefix of the
// uncompressed bytes, with "-gz" for the gzipped representation (a strong
// ETag names one representation, RFC 9110 §8.8.3). Hashing costs about
// 2 ms per megabyte (1.4 ms of the ~43 ms a 1,000-schedule list takes, see
// BenchmarkListSchedules). A tag derived from a store change sequence would
// skip the read, but the store exposes none, and views carry data from
// outside the records (a schedule's next and last run come from the
// engine), so a 304 still reads and encodes the list; it saves the bytes on
// the wire and the compression.
//
// Every /api/ response also carries Cache-Control: no-store (middleware.go).
// That forbids caches, the browser's included, to keep the body, so a
// browser's fetch() never revalidates on its own; a poller that keeps the
// last ETag and body itself and sends If-None-Match gets its 304 all the
// same (RFC 9110 §13.1.2: conditional requests do not depend on caching).
func etagOf(body []byte, gzipped bool) string {
	sum := sha256.Sum256(body)
	tag := base64.RawURLEncoding.EncodeToString(sum[:16])
	if gzipped {
		tag += "-gz"
	}
	return `"` + tag + `"`
}

// noneMatch reports whether an If-None-Match header names tag: "*", or one
// of its comma-separated entity tags by weak comparison (RFC 9110 §13.1.2).
func noneMatch(header, tag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether the request's Accept-Encoding lists gzip with
// a non-zero quality.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// gzipBytes compresses b at gzip's fastest level: JSON lists shrink 10–20×
// even so, and the CPU stays a fraction of the encoding's.
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/4 + 64)
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write(b) // a bytes.Buffer does not fail
	_ = zw.Close()
	gzipWriters.Put(zw)
	return buf.Bytes()
}
