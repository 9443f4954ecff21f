package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
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

// conditionals returns the route wrapper that gives the GET routes of
// versionTagged their version tag, with one body cache for all of them:
//
//   - an If-None-Match that names the tag is answered 304 before the list
//     is read;
//   - otherwise a body already rendered for the same URL, representation
//     and tag is written from the cache (the tag names everything the body
//     depends on, so it is the same body);
//   - otherwise the handler runs and its body is rendered and cached.
//
// Other routes get their handler as it is.
func (s *server) conditionals() func(method, path string, h handlerFunc) handlerFunc {
	cache := newBodyCache(bodyCacheBytes, bodyCacheEntry)
	return func(method, path string, h handlerFunc) handlerFunc {
		deps, ok := versionTagged[path]
		if !ok || method != http.MethodGet {
			return h
		}
		return func(r *http.Request, p httprouter.Params) (any, error) {
			tag, ok := s.versionTag(deps, r.URL.RequestURI())
			if !ok {
				return h(r, p)
			}
			gz := acceptsGzip(r)
			if inm := r.Header.Get("If-None-Match"); inm != "" {
				// The client holds the identity body, or the gzipped one when
				// it still accepts gzip (which one a body gets depends only on
				// its length, so on the version too).
				if noneMatch(inm, tag) {
					return notModified(tag), nil
				}
				if gz && noneMatch(inm, gzipTag(tag)) {
					return notModified(gzipTag(tag)), nil
				}
			}
			key := r.URL.RequestURI()
			if gz {
				key += "\x00gzip"
			}
			if hit, ok := cache.get(key, tag); ok {
				return hit, nil
			}
			v, err := h(r, p)
			if err != nil {
				return nil, err
			}
			lp, ok := v.(listPage)
			if !ok {
				return v, nil // not a list: written as usual, tagged by its hash
			}
			body, err := renderTagged(lp, tag, gz)
			if err != nil {
				return nil, err
			}
			return cache.put(key, body), nil
		}
	}
}

// The body cache holds at most bodyCacheBytes of rendered bodies, none over
// bodyCacheEntry (an unpaginated list of 1,000 schedules is ~0.8 MB, 26 KB
// gzipped).
const (
	bodyCacheBytes = 8 << 20
	bodyCacheEntry = 2 << 20
)

// taggedBody is a rendered list with its version tag: the bytes on the
// wire (gzipped or not) and the headers that go with them.
type taggedBody struct {
	tag     string // as sent: with -gz when gzipped
	version string // the version tag it was rendered under
	total   int
	gzipped bool
	body    []byte
}

// renderTagged encodes a list as writeOK does (JSON and a newline, gzipped
// when over gzipMin and accepted), tagged with its version tag.
func renderTagged(lp listPage, tag string, acceptGz bool) (*taggedBody, error) {
	b, err := json.Marshal(lp.items)
	if err != nil {
		return nil, fmt.Errorf("encode list: %w", err)
	}
	b = append(b, '\n')
	t := &taggedBody{tag: tag, version: tag, total: lp.total, body: b}
	if acceptGz && len(b) > gzipMin {
		t.tag, t.gzipped, t.body = gzipTag(tag), true, gzipBytes(b)
	}
	return t, nil
}

// taggedBody is a streamer (handler.go): it writes itself.
func (t *taggedBody) stream(w http.ResponseWriter) error {
	h := w.Header()
	setTotal(w, t.total)
	h.Add("Vary", "Accept-Encoding")
	h.Set("ETag", t.tag)
	h.Set("Content-Type", "application/json; charset=utf-8")
	if t.gzipped {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(t.body)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(t.body)
	return err
}

// bodyCache maps a request (URL and representation) to the body last
// rendered for it. An entry is replaced when the tag moves; the oldest
// entries go first when the cache is full.
type bodyCache struct {
	mu      sync.Mutex
	max     int
	maxOne  int
	size    int
	entries map[string]*taggedBody
	order   []string // insertion order, for eviction
}

func newBodyCache(max, maxOne int) *bodyCache {
	return &bodyCache{max: max, maxOne: maxOne, entries: map[string]*taggedBody{}}
}

func (c *bodyCache) get(key, version string) (streamer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.entries[key]
	if !ok || t.version != version {
		return nil, false
	}
	return streamer(t.stream), true
}

func (c *bodyCache) put(key string, t *taggedBody) streamer {
	if len(t.body) > c.maxOne {
		return streamer(t.stream)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok {
		c.size -= len(old.body)
		c.order = slices.DeleteFunc(c.order, func(k string) bool { return k == key })
	}
	for c.size+len(t.body) > c.max && len(c.order) > 0 {
		oldest := c.order[0]
		c.order = c.order[1:]
		c.size -= len(c.entries[oldest].body)
		delete(c.entries, oldest)
	}
	c.entries[key] = t
	c.order = append(c.order, key)
	c.size += len(t.body)
	return streamer(t.stream)
}

// versionTag is the tag of deps now for the request URI uri; ok false when
// the engine cannot say when its part changes. The URI's hash is part of it,
// so two URLs of one route (another page, another connection) never share
// a tag.
func (s *server) versionTag(deps tagDeps, uri string) (string, bool) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(uri))
	b := make([]byte, 0, 64)
	b = append(b, '"', 'v')
	b = strconv.AppendUint(b, h.Sum64(), 36)
	b = append(b, '.')
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
