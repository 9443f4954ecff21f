package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// testCtx bounds one test step.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// requireOrSkip fails under CI=true and skips otherwise.
func requireOrSkip(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// shellQuote quotes s for bash.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// wrapTool writes an executable bash script named like tool that answers
// --version with the real tool's and otherwise runs body, with $REAL the real
// tool and "$@" the arguments Jagad passed. Dump tools run with a scrubbed
// environment, so paths the body needs are baked in, not passed in env.
func wrapTool(t *testing.T, tool, body string) string {
	t.Helper()
	real, err := exec.LookPath(tool)
	if err != nil {
		requireOrSkip(t, "%s not installed: %v", tool, err)
	}
	script := "#!/bin/bash\nREAL=" + shellQuote(real) + "\n" +
		`if [ "$1" = --version ]; then exec "$REAL" --version; fi` + "\nset -o pipefail\n" + body + "\n"
	p := filepath.Join(t.TempDir(), tool)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// dumpToolSetting is the settings key and tool name that dump dbType.
func dumpToolSetting(dbType string) (key, tool string) {
	if dbType == dbclient.PostgreSQL {
		return "pg_dump_path", "pg_dump"
	}
	return "mysqldump_path", "mariadb-dump"
}

// gate is a file a gated wrapper waits for before it lets the rest of the
// dump through; the dump tool blocks on its full pipe meanwhile.
type gate struct {
	path    string // exists = open
	pidFile string // the wrapper's PID (= its process group)
}

func newGate(t *testing.T) *gate {
	d := t.TempDir()
	g := &gate{path: filepath.Join(d, "open"), pidFile: filepath.Join(d, "pid")}
	t.Cleanup(func() { killGroup(t, g.pidFile) }) // a failed test must not leave a dump hanging
	return g
}

// pid waits for the wrapper to write its PID and returns it.
func (g *gate) pid(t *testing.T) int {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(g.pidFile)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("wrapper wrote no pid: %v", err)
		}
	}
}

// body is a wrapper body: stream 64 KiB, wait for the gate, stream the rest.
func (g *gate) body() string {
	return "echo $$ > " + shellQuote(g.pidFile) + "\n" +
		`"$REAL" "$@" | { head -c 65536; while [ ! -e ` + shellQuote(g.path) + ` ]; do sleep 0.05; done; cat; }`
}

func (g *gate) open(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(g.path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (g *gate) close(t *testing.T) {
	t.Helper()
	if err := os.Remove(g.path); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// groupGone waits up to 5 s for the wrapper's process group to have no live
// (non-zombie) process left, and reports whether it got there.
func (g *gate) groupGone(t *testing.T) bool {
	t.Helper()
	pgid := g.pid(t)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		live := liveInGroup(pgid)
		if len(live) == 0 {
			return true
		}
		if time.Now().After(deadline) {
			t.Logf("still alive in process group %d: %v", pgid, live)
			return false
		}
	}
}

// liveInGroup lists the non-zombie processes of process group pgid.
func liveInGroup(pgid int) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		end := bytes.LastIndexByte(stat, ')')
		if end < 0 {
			continue
		}
		// after "pid (comm)": state ppid pgrp ...
		f := strings.Fields(string(stat[end+1:]))
		if len(f) < 3 || f[0] == "Z" || f[2] != strconv.Itoa(pgid) {
			continue
		}
		out = append(out, e.Name()+" "+string(stat[:end+1]))
	}
	return out
}

// waitStatus polls a backup until pred holds.
func (h *harness) waitStatus(id string, timeout time.Duration, pred func(state.Backup) bool) state.Backup {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b := h.backup(id)
		if pred(b) {
			return b
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("backup %s: condition not met after %s (status %s); log:\n%s", id, timeout, b.Status, b.LogOutput)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// start starts a backup request and returns its queued record.
func (h *harness) start(req BackupRequest) state.Backup {
	h.t.Helper()
	b, err := h.eng.StartBackup(context.Background(), req)
	if err != nil {
		h.t.Fatalf("start backup: %v", err)
	}
	if b.Status != state.StatusQueued {
		h.t.Fatalf("new backup status = %q, want queued", b.Status)
	}
	return b
}

// storeFor opens the store of provider p as the engine does.
func (h *harness) storeFor(p state.Provider) storage.Store {
	h.t.Helper()
	st, err := h.eng.stores.open(p)
	if err != nil {
		h.t.Fatalf("open store %s: %v", p.Name, err)
	}
	return st
}

// assertNoLeftovers proves a failed backup left nothing in st: no object or
// manifest of it, no temp file or incomplete multipart upload at all.
func assertNoLeftovers(t *testing.T, st storage.Store, b state.Backup) {
	t.Helper()
	ctx := testCtx(t)
	objs, err := st.List(ctx, "backups/")
	if err != nil {
		t.Fatalf("list %s: %v", st, err)
	}
	for _, o := range objs {
		if strings.Contains(o.Key, b.ID) {
			t.Errorf("failed backup %s left %s (%d bytes) in %s", b.ID, o.Key, o.Size, st)
		}
	}
	inc, err := st.(storage.IncompleteLister).Incomplete(ctx, "backups/")
	if err != nil {
		t.Fatalf("incomplete %s: %v", st, err)
	}
	if len(inc) > 0 {
		t.Errorf("incomplete uploads left in %s: %q", st, inc)
	}
}

// assertFailed checks a finished backup failed with every word of want in
// its log, recorded its timing, and left nothing behind.
func assertFailed(t *testing.T, h *harness, st storage.Store, b state.Backup, want ...string) {
	t.Helper()
	if b.Status != state.StatusFailed {
		t.Fatalf("status = %s, want failed; log:\n%s", b.Status, b.LogOutput)
	}
	t.Logf("failed backup log:\n%s", b.LogOutput)
	for _, w := range want {
		if !strings.Contains(b.LogOutput, w) {
			t.Errorf("log has no %q:\n%s", w, b.LogOutput)
		}
	}
	if !strings.Contains(b.LogOutput, "BACKUP FAILED") || b.CompletedAt == nil {
		t.Errorf("failure not recorded: completed_at %v; log:\n%s", b.CompletedAt, b.LogOutput)
	}
	if b.Checksum != "" || b.SizeBytes != 0 {
		t.Errorf("failed backup carries checksum %q / size %d", b.Checksum, b.SizeBytes)
	}
	if _, _, err := h.eng.OpenBackup(context.Background(), b.ID); err == nil ||
		!strings.Contains(err.Error(), "cannot download backup with status: failed") {
		t.Errorf("download of a failed backup: err = %v, want a clear refusal", err)
	}
	assertNoLeftovers(t, st, b)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// decompress reads a whole compressed stream with readers independent of
// the engine's own.
func decompress(t *testing.T, b []byte, compression string) []byte {
	t.Helper()
	var r io.Reader
	switch compression {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		defer zr.Close()
		r = zr
	case "none":
		return b
	default:
		t.Fatalf("unknown compression %q", compression)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decompress %s: %v", compression, err)
	}
	return out
}

// keyFile writes key to a 0600 file for `jagad decrypt --key-file`.
func keyFile(t *testing.T, key string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// download reads a backup's stored bytes through the engine.
func download(t *testing.T, h *harness, b state.Backup) []byte {
	t.Helper()
	rc, size, err := h.eng.OpenBackup(testCtx(t), b.ID)
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	defer rc.Close()
	stored, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read backup: %v", err)
	}
	if int64(len(stored)) != size || size != b.StoredSizeBytes {
		t.Fatalf("download: %d bytes, announced %d, record stored_size_bytes %d", len(stored), size, b.StoredSizeBytes)
	}
	return stored
}

// unseal turns stored bytes into the compressed stream when the backup is
// encrypted, the way `jagad decrypt --key-file` does: the key file's key
// applied to whatever key id the header names.
func unseal(t *testing.T, b state.Backup, stored []byte, keyPath string) []byte {
	t.Helper()
	if b.EncryptionAlgo == "" {
		return stored
	}
	key, err := crypt.ReadKeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := crypt.OpenWithKey(bytes.NewReader(stored), key, nil)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	return out
}

var stampRe = `-\d{8}-\d{6}`

// assertKey checks the object key layout.
func assertKey(t *testing.T, b state.Backup, ext string) {
	t.Helper()
	want := "^" + regexp.QuoteMeta("backups/"+b.ConnectionName+"/"+b.DatabaseName+"/"+b.ID) + stampRe + regexp.QuoteMeta(ext) + "$"
	if !regexp.MustCompile(want).MatchString(b.StoragePath) {
		t.Errorf("storage_path %q does not match %s", b.StoragePath, want)
	}
	if b.StartedAt != nil && !strings.Contains(b.StoragePath, b.StartedAt.UTC().Format("20060102-150405")) {
		t.Errorf("storage_path %q does not carry the start time %s", b.StoragePath, b.StartedAt)
	}
}

// assertManifest checks the manifest beside the object describes the record.
func assertManifest(t *testing.T, st storage.Store, b state.Backup) {
	t.Helper()
	m, err := objfmt.ReadManifest(testCtx(t), st, b.StoragePath+objfmt.ManifestSuffix)
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	type view struct {
		ID, Key, Conn, ConnName, DB, DBName, Provider, DBType, Type, Comp, Algo, KeyID, Sum, ESum string
		Size, Stored                                                                              int64
		Encrypted                                                                                 bool
	}
	got := view{m.BackupID, m.ObjectKey, m.ConnectionID, m.ConnectionName, m.DatabaseID, m.DatabaseName,
		m.StorageProviderID, m.DBType, m.BackupType, m.Compression, m.EncryptionAlgo, m.EncryptionKeyID,
		m.Checksum, m.EncryptedChecksum, m.SizeBytes, m.StoredSizeBytes, m.Encrypted}
	want := view{b.ID, b.StoragePath, b.ConnectionID, b.ConnectionName, b.DatabaseID, b.DatabaseName,
		b.StorageProviderID, b.DBType, b.BackupType, b.Compression, b.EncryptionAlgo, b.EncryptionKeyID,
		b.Checksum, b.EncryptedChecksum, b.SizeBytes, b.StoredSizeBytes, b.EncryptionAlgo != ""}
	if got != want {
		t.Errorf("manifest\n got %+v\nwant %+v", got, want)
	}
	if m.StartedAt == nil || b.StartedAt == nil || !m.StartedAt.Equal(*b.StartedAt) ||
		b.CompletedAt == nil || !m.CompletedAt.Equal(*b.CompletedAt) {
		t.Errorf("manifest times %v..%v, record %v..%v", m.StartedAt, m.CompletedAt, b.StartedAt, b.CompletedAt)
	}
	if m.ToolVersion == "" || m.ToolVersion != b.ToolVersion || len(m.Tables) != len(b.Tables) {
		t.Errorf("manifest tool %q tables %v, record %q %v", m.ToolVersion, m.Tables, b.ToolVersion, b.Tables)
	}
}

// assertReadable proves a raw dump is what the fixture holds.
func assertReadable(t *testing.T, b state.Backup, raw []byte, f *fixture) {
	t.Helper()
	if int64(len(raw)) != b.SizeBytes {
		t.Errorf("raw dump %d bytes, size_bytes %d", len(raw), b.SizeBytes)
	}
	if err := dump.CheckReadable(testCtx(t), b.DBType, dump.Tools{}, bytes.NewReader(raw)); err != nil {
		t.Errorf("dump not readable: %v", err)
	}
	if f == nil {
		return
	}
	if !bytes.Contains(raw, []byte(f.marker)) || !containsLong(raw, []byte(f.big)) {
		t.Errorf("dump lacks the unicode marker or the %d-byte value", len(f.big))
	}
	for k, n := range f.tables {
		if b.Tables[k] != n {
			t.Errorf("tables[%s] = %d, want %d (all: %v)", k, b.Tables[k], n, b.Tables)
		}
	}
}

// containsLong is bytes.Contains for a long needle without Rabin-Karp over
// megabytes (slow under -race): find its head, then compare the whole.
func containsLong(hay, needle []byte) bool {
	for off := 0; ; {
		i := bytes.Index(hay[off:], needle[:64])
		if i < 0 {
			return false
		}
		if bytes.HasPrefix(hay[off+i:], needle) {
			return true
		}
		off += i + 1
	}
}
