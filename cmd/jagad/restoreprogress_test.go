package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"github.com/jagad/jagad/engine/storage"
)

// openPTY opens a pseudo-terminal: the program side (a terminal to
// bar.IsTerminal) and the side a terminal emulator reads.
func openPTY(t *testing.T) (tty, ptm *os.File) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { ptm.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptm.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlock pty: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptm.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("pty number: %v", e)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty, ptm
}

// progressFixture is a local store holding one 3 MiB object and its
// manifest.
func progressFixture(t *testing.T) (storage.Store, string, int64) {
	t.Helper()
	st, err := storage.Open(storage.Config{Type: storage.TypeLocal, Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	const key, size = "backups/a/obj.pgdump.zst", 3 << 20
	ctx := context.Background()
	if _, err := st.Put(ctx, key, bytes.NewReader(bytes.Repeat([]byte("x"), size))); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, key+".manifest.json", strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	return st, key, size
}

// readPass reads key through p as a restore pass does, with a log line in
// the middle.
func readPass(t *testing.T, p *restoreProgress, key string) {
	t.Helper()
	rc, err := p.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, rc, 1<<20); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(p.log, "DOWNLOAD: a log line")
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreProgressOnTerminal: on a terminal, each read of the backup
// object (verify, then restore) ends with a full bar naming its pass and
// the object's size; a log line first clears the bar's line; the manifest
// gets no bar.
func TestRestoreProgressOnTerminal(t *testing.T) {
	st, key, _ := progressFixture(t)
	tty, ptm := openPTY(t)
	var screen bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); io.Copy(&screen, ptm) }()

	var logs bytes.Buffer
	p := newRestoreProgress(st, tty, &logs, false)
	if !p.tty {
		t.Fatal("a pty is not seen as a terminal")
	}
	rc, err := p.Get(context.Background(), key+".manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, rc)
	rc.Close()
	readPass(t, p, key)
	readPass(t, p, key)
	p.finish()
	tty.Close()
	ptm.Close() // ends the copy (EIO or EOF)
	wg.Wait()

	out := screen.String()
	for _, want := range []string{"verify  [========================] 100% 3.0 MiB/3.0 MiB", "restore [========================] 100% 3.0 MiB/3.0 MiB", "\r\x1b[K"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, out)
		}
	}
	if strings.Contains(out, "manifest") || strings.Count(out, "100%") != 2 {
		t.Errorf("want exactly two finished bars, no manifest bar:\n%q", out)
	}
	if logs.String() != "DOWNLOAD: a log line\nDOWNLOAD: a log line\n" {
		t.Errorf("log lines changed: %q", logs.String())
	}
}

// TestRestoreProgressQuietOffTerminal: when stdout is not a terminal the
// bar writes nothing there and log lines pass unchanged.
func TestRestoreProgressQuietOffTerminal(t *testing.T) {
	st, key, size := progressFixture(t)
	var stdout, logs bytes.Buffer
	p := newRestoreProgress(st, &stdout, &logs, true)
	readPass(t, p, key)
	p.finish()
	if stdout.Len() != 0 {
		t.Errorf("stdout is not a terminal but got %q", stdout.String())
	}
	if logs.String() != "DOWNLOAD: a log line\n" {
		t.Errorf("log lines changed: %q", logs.String())
	}
	if info, err := p.Stat(context.Background(), key); err != nil || info.Size != size {
		t.Errorf("the wrapped store answers Stat: %v %v", info, err)
	}
}
