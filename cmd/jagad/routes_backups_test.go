package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/jagad/jagad/engine/crypt"
)

func backupCases() []routeCase {
	return []routeCase{
		{"POST /api/backups", func(t *testing.T, w *routeWorld) {
			var b obj
			w.call(t, "POST", "/api/backups", map[string]any{"connection_id": w.ids["file-conn"], "database_id": w.ids["file-db"]}, http.StatusCreated, &b)
			if b["backup_type"] != "full" || b["notify_on_success"] != true || b["notify_on_failure"] != true || b["status"] == "success" {
				t.Errorf("one-shot backup: %v (want the defaults, not yet done)", b)
			}
			w.ids["backup"] = str(b, "id")
			b = w.waitFor(t, "/api/backups/"+w.ids["backup"], "backup done", func(o obj) bool { return o["status"] == "success" || o["status"] == "failed" })
			if b["status"] != "success" || b["database_name"] != w.src || b["connection_name"] != "pg" || b["compression"] != "zstd" {
				t.Fatalf("backup: %v", b)
			}
			w.refused(t, "POST", "/api/backups", map[string]any{"connection_id": w.ids["file-conn"], "database_id": "db_nope"}, http.StatusBadRequest, "database_id")
		}},
		{"GET /api/backups", func(t *testing.T, w *routeWorld) {
			var l list
			w.call(t, "GET", "/api/backups", nil, http.StatusOK, &l)
			if len(l) != 2 || l[0]["id"] != w.ids["backup"] || l[1]["id"] != w.ids["sched-backup"] {
				t.Errorf("backups, newest first: %v", l)
			}
			w.call(t, "GET", "/api/backups?limit=1&offset=1", nil, http.StatusOK, &l)
			if len(l) != 1 || l[0]["id"] != w.ids["sched-backup"] {
				t.Errorf("second page: %v", l)
			}
			w.call(t, "GET", "/api/backups?database_id="+w.ids["api-db"], nil, http.StatusOK, &l)
			if len(l) != 0 {
				t.Errorf("backups of the API database: %v", l)
			}
		}},
		{"GET /api/backups/:id", func(t *testing.T, w *routeWorld) {
			var b obj
			w.call(t, "GET", "/api/backups/"+w.ids["backup"], nil, http.StatusOK, &b)
			if b["id"] != w.ids["backup"] || num(b, "size_bytes") <= 0 || str(b, "checksum") == "" || str(b, "storage_path") == "" {
				t.Errorf("backup: %v", b)
			}
			// /api/backups/stats is reached through this route.
			var st obj
			w.call(t, "GET", "/api/backups/stats", nil, http.StatusOK, &st)
			byStatus, _ := st["by_status"].(map[string]any)
			if num(st, "total_backups") != 2 || byStatus["success"] != 2.0 || st["success_rate"] != 100.0 ||
				num(st, "total_size_bytes") < num(b, "size_bytes") {
				t.Errorf("stats: %v", st)
			}
			w.call(t, "GET", "/api/backups/bck_nope", nil, http.StatusNotFound, nil)
		}},
		{"GET /api/backups/:id/logs", func(t *testing.T, w *routeWorld) {
			var l struct{ Log string }
			var b obj
			w.call(t, "GET", "/api/backups/"+w.ids["backup"]+"/logs", nil, http.StatusOK, &l)
			w.call(t, "GET", "/api/backups/"+w.ids["backup"], nil, http.StatusOK, &b)
			if l.Log == "" || l.Log != b["log_output"] || !strings.Contains(l.Log, "UPLOAD") {
				t.Errorf("log %q, want the record's log_output", l.Log)
			}
		}},
		{"GET /api/backups/:id/download", func(t *testing.T, w *routeWorld) {
			var b obj
			w.call(t, "GET", "/api/backups/"+w.ids["backup"], nil, http.StatusOK, &b)
			code, h, data := w.send(t, "GET", "/api/backups/"+w.ids["backup"]+"/download", w.token, nil)
			if code != http.StatusOK {
				t.Fatalf("download: %d %s", code, data)
			}
			if h.Get("Content-Type") != "application/octet-stream" || h.Get("Content-Length") != strconv.Itoa(len(data)) ||
				!strings.Contains(h.Get("Content-Disposition"), path.Base(str(b, "storage_path"))) {
				t.Errorf("download headers: %v", h)
			}
			checkDownload(t, w, b, data)
		}},
		{"POST /api/backups/:id/verify", func(t *testing.T, w *routeWorld) {
			var r obj
			w.call(t, "POST", "/api/backups/"+w.ids["backup"]+"/verify", nil, http.StatusOK, &r)
			if r["status"] != "verifying" || r["backup_id"] != w.ids["backup"] {
				t.Errorf("verify: %v", r)
			}
			b := w.waitFor(t, "/api/backups/"+w.ids["backup"], "verify done", func(o obj) bool {
				return o["verify_status"] == "passed" || o["verify_status"] == "failed"
			})
			if b["verify_status"] != "passed" || b["verified_at"] == nil {
				t.Errorf("verify: %v", b)
			}
		}},
		{"POST /api/backups/:id/copies", func(t *testing.T, w *routeWorld) {
			var b, r obj
			w.call(t, "GET", "/api/backups/"+w.ids["backup"], nil, http.StatusOK, &b)
			dst := w.ids["api-prov"]
			if b["storage_provider_id"] == dst {
				dst = w.ids["file-prov"]
			}
			path := "/api/backups/" + w.ids["backup"] + "/copies"
			w.call(t, "POST", path, map[string]any{"storage_provider_id": dst}, http.StatusAccepted, &r)
			if r["status"] != "copying" || r["backup_id"] != w.ids["backup"] {
				t.Errorf("copy: %v", r)
			}
			copyOn := func(o obj) obj {
				list, _ := o["replicas"].([]any)
				for _, x := range list {
					if rep, _ := x.(map[string]any); rep["provider_id"] == dst {
						return rep
					}
				}
				return nil
			}
			b = w.waitFor(t, "/api/backups/"+w.ids["backup"], "copy done", func(o obj) bool {
				rep := copyOn(o)
				return rep != nil && rep["status"] != "pending"
			})
			if rep := copyOn(b); rep["status"] != "success" || rep["encrypted_checksum"] != b["encrypted_checksum"] {
				t.Fatalf("copy: %v\n%s", rep, b["log_output"])
			}
			w.refused(t, "POST", path, map[string]any{"storage_provider_id": dst}, http.StatusConflict, "already has a success copy")
			w.refused(t, "POST", path, map[string]any{"storage_provider_id": "prov_nope"}, http.StatusNotFound, "storage provider not found")
		}},
	}
}

// checkDownload proves the downloaded bytes are the stored object: their
// SHA-256 is the record's encrypted_checksum; they decrypt with the
// daemon's key to the compressed dump of checksum, which decompresses to a
// pg_dump archive of size_bytes.
func checkDownload(t *testing.T, w *routeWorld, b obj, data []byte) {
	t.Helper()
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != str(b, "encrypted_checksum") || int64(len(data)) != num(b, "stored_size_bytes") {
		t.Fatalf("downloaded %d bytes: sha256 %x, want %s bytes of %s", len(data), sum, b["stored_size_bytes"], b["encrypted_checksum"])
	}
	plain, err := crypt.NewReader(bytes.NewReader(data), w.kr)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	compressed, err := io.ReadAll(plain)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	if sum := sha256.Sum256(compressed); hex.EncodeToString(sum[:]) != str(b, "checksum") {
		t.Errorf("decrypted sha256 %x, want checksum %s", sum, b["checksum"])
	}
	dec, err := zstd.NewReader(bytes.NewReader(compressed))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	dump, err := io.ReadAll(dec)
	if err != nil {
		t.Fatalf("decompress: %v", err)
	}
	if !bytes.HasPrefix(dump, []byte("PGDMP")) || int64(len(dump)) != num(b, "size_bytes") || !bytes.Contains(dump, []byte("item-250")) {
		t.Errorf("dump: %d bytes (want %v), prefix %q", len(dump), b["size_bytes"], dump[:min(len(dump), 5)])
	}
}

func deleteCases() []routeCase {
	return []routeCase{
		{"DELETE /api/backups/:id", func(t *testing.T, w *routeWorld) {
			var b obj
			w.call(t, "GET", "/api/backups/"+w.ids["backup"], nil, http.StatusOK, &b)
			dir := w.dirs["local"]
			if b["storage_provider_id"] == w.ids["api-prov"] {
				dir = w.dirs["api-local"]
			}
			object := filepath.Join(dir, filepath.FromSlash(str(b, "storage_path")))
			if _, err := os.Stat(object); err != nil {
				t.Fatalf("the backup's object: %v", err)
			}
			w.call(t, "DELETE", "/api/backups/"+w.ids["backup"], nil, http.StatusNoContent, nil)
			w.call(t, "GET", "/api/backups/"+w.ids["backup"], nil, http.StatusNotFound, nil)
			if _, err := os.Stat(object); !os.IsNotExist(err) {
				t.Errorf("the object of a deleted backup: %v", err)
			}
			var st obj
			if w.call(t, "GET", "/api/backups/stats", nil, http.StatusOK, &st); num(st, "total_backups") != 1 {
				t.Errorf("stats after delete: %v", st)
			}
		}},
		{"DELETE /api/schedules/:id", func(t *testing.T, w *routeWorld) {
			w.refused(t, "DELETE", "/api/connections/"+w.ids["api-conn"], nil, http.StatusConflict, "used by schedule")
			w.call(t, "DELETE", "/api/schedules/"+w.ids["api-sched"], nil, http.StatusNoContent, nil)
			w.call(t, "GET", "/api/schedules/"+w.ids["api-sched"], nil, http.StatusNotFound, nil)
			w.refused(t, "DELETE", "/api/schedules/"+w.ids["file-sched"], nil, http.StatusConflict, "managed by jagad.yaml")
		}},
		{"DELETE /api/notifications/:id", func(t *testing.T, w *routeWorld) {
			w.call(t, "DELETE", "/api/notifications/"+w.ids["api-notif"], nil, http.StatusNoContent, nil)
			w.call(t, "GET", "/api/notifications/"+w.ids["api-notif"], nil, http.StatusNotFound, nil)
		}},
		{"DELETE /api/storage-providers/:id", func(t *testing.T, w *routeWorld) {
			// The scheduled run's backup is still on it.
			w.refused(t, "DELETE", "/api/storage-providers/"+w.ids["api-prov"], nil, http.StatusConflict, "holds backups")
			w.call(t, "DELETE", "/api/backups/"+w.ids["sched-backup"], nil, http.StatusNoContent, nil)
			w.call(t, "DELETE", "/api/storage-providers/"+w.ids["api-prov"], nil, http.StatusNoContent, nil)
			w.call(t, "GET", "/api/storage-providers/"+w.ids["api-prov"], nil, http.StatusNotFound, nil)
			w.refused(t, "DELETE", "/api/storage-providers/"+w.ids["file-prov"], nil, http.StatusConflict, "managed by jagad.yaml")
		}},
		{"DELETE /api/connections/:id", func(t *testing.T, w *routeWorld) {
			w.call(t, "DELETE", "/api/connections/"+w.ids["api-conn"], nil, http.StatusNoContent, nil)
			w.call(t, "GET", "/api/connections/"+w.ids["api-conn"], nil, http.StatusNotFound, nil)
			w.call(t, "GET", "/api/connections/"+w.ids["api-conn"]+"/databases", nil, http.StatusNotFound, nil)
			w.refused(t, "DELETE", "/api/connections/"+w.ids["file-conn"], nil, http.StatusConflict, "managed by jagad.yaml")
		}},
	}
}
