package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/klauspost/compress/gzip"

	"github.com/jagad/jagad/state"
)

// gzipMin: bodies up to this many bytes go out as they are; below about a
// kilobyte gzip's header and the CPU cost more than the bytes saved.
const gzipMin = 1024

// etagOf is a strong validator of a JSON body: a SHA-256 prefix of the
// uncompressed bytes, with "-gz" for the gzipped representation (a strong
// ETag names one representation, RFC 9110 §8.8.3). Hashing costs about
// 2 ms per megabyte. It serves every GET that has no version tag (below):
// such a 304 still reads and encodes the resource, and saves only the bytes
// on the wire and the compression.
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

// Version tags: the lists below get an ETag made of what their body depends
// on, known before anything is read, so an If-None-Match that names it is
// answered 304 without reading, encoding or hashing the list:
//
//   - state.Store.Version of the record kinds the views show (every
//     committed write of one of them moves it) and the store's Epoch (a
//     restart starts the counters again);
//   - for schedules, also the engine scheduler's version (a schedule
//     registered, removed or run) and the current UTC minute: next_run_at
//     is the first slot after now, and cron slots fall on whole minutes, so
//     it can only change at a minute's start. last_run_at and last_status
//     come from the backups, hence KindBackup.
//
// The version is read before the records, and the store bumps it after a
// commit, so a body is never tagged newer than it is (it may be tagged older,
// which costs the next poll a 200). Responses that depend on anything else
// (a single backup or restore with its live progress, the stats) keep the
// body hash.
type tagDeps struct {
	kinds     []state.Kind
	schedules bool // plus the scheduler's version and the minute
}

// versionTagged are the GET routes (as registered in routes.go) with a
// version tag.
var versionTagged = map[string]tagDeps{
	"/api/backups":                   {kinds: []state.Kind{state.KindBackup}},
	"/api/restores":                  {kinds: []state.Kind{state.KindRestore}},
	"/api/connections":               {kinds: []state.Kind{state.KindConnection}},
	"/api/connections/:id/databases": {kinds: []state.Kind{state.KindDatabase, state.KindConnection}},
	"/api/notifications":             {kinds: []state.Kind{state.KindNotification}},
	"/api/storage-providers":         {kinds: []state.Kind{state.KindProvider}},
	"/api/schedules": {kinds: []state.Kind{state.KindSchedule, state.KindBackup, state.KindSettings},
		schedules: true},
}

// scheduleVersioner is the engine's scheduler version (*engine.Engine has
// it; test fakes and NotReadyEngine do not, and their schedule lists keep
// the body hash).
type scheduleVersioner interface{ ScheduleVersion() uint64 }

// conditional gives the GET route path of versionTagged its version tag: a
// matching If-None-Match is answered 304 before h runs, and h's list is
// written with the tag. Other routes get h as it is.
func (s *server) conditional(method, path string, h handlerFunc) handlerFunc {
	deps, ok := versionTagged[path]
	if !ok || method != http.MethodGet {
		return h
	}
	return func(r *http.Request, p httprouter.Params) (any, error) {
		tag, ok := s.versionTag(deps)
		if !ok {
			return h(r, p)
		}
		if inm := r.Header.Get("If-None-Match"); inm != "" {
			// The client holds the identity body, or the gzipped one when it
			// still accepts gzip (which representation a body gets depends
			// only on its length, so on the version too).
			if noneMatch(inm, tag) {
				return notModified(tag), nil
			}
			if gz := gzipTag(tag); acceptsGzip(r) && noneMatch(inm, gz) {
				return notModified(gz), nil
			}
		}
		v, err := h(r, p)
		if err != nil {
			return nil, err
		}
		if lp, ok := v.(listPage); ok {
			lp.tag = tag
			return lp, nil
		}
		return v, nil
	}
}

// versionTag is the tag of deps now; ok false when the engine cannot say
// when its part changes.
func (s *server) versionTag(deps tagDeps) (string, bool) {
	b := make([]byte, 0, 48)
	b = append(b, '"', 'v')
	b = strconv.AppendUint(b, s.store.Epoch(), 36)
	b = append(b, '.')
	b = strconv.AppendUint(b, s.store.Version(deps.kinds...), 36)
	if deps.schedules {
		sv, ok := s.engine.(scheduleVersioner)
		if !ok {
			return "", false
		}
		b = append(b, '.')
		b = strconv.AppendUint(b, sv.ScheduleVersion(), 36)
		b = append(b, '.')
		b = strconv.AppendInt(b, s.now().Unix()/int64(time.Minute/time.Second), 36)
	}
	return string(append(b, '"')), true
}

// gzipTag is the tag of the gzipped representation of a version-tagged body.
func gzipTag(tag string) string { return strings.TrimSuffix(tag, `"`) + `-gz"` }

// notModified is the 304 of a version tag: ETag and Vary (Cache-Control
// comes from the middleware), no body.
func notModified(tag string) streamer {
	return func(w http.ResponseWriter) error {
		h := w.Header()
		h.Add("Vary", "Accept-Encoding")
		h.Set("ETag", tag)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
}
