package state

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Subprocess roles: the test binary re-executes itself with childEnv set.
const (
	roleLock      = "lock"       // try to open JAGAD_STATE_TEST_DIR, report the outcome
	roleCrashHalf = "crash-half" // commit generation 0, SIGKILL itself half-way through generation 1
	roleCrashLoop = "crash-loop" // commit generations forever, print each; the parent kills it
	dirEnv        = "JAGAD_STATE_TEST_DIR"
	crashGenSize  = 400
)

func runChild(role string) int {
	dir := os.Getenv(dirEnv)
	switch role {
	case roleLock:
		s, err := Open(Options{Dir: dir, MasterKey: testKey(1), GCInterval: -1})
		switch {
		case errors.Is(err, ErrLocked):
			fmt.Println("locked:", err)
		case err != nil:
			fmt.Println("error:", err)
		default:
			fmt.Println("opened")
			_ = s.Close()
		}
		return 0
	case roleCrashHalf, roleCrashLoop:
		if err := crashChild(dir, role); err != nil {
			fmt.Println("error:", err)
		}
		return 1
	}
	fmt.Println("unknown role", role)
	return 1
}

func crashID(gen, i int) string { return fmt.Sprintf("conn_g%04d_%04d", gen, i) }

// crashChild writes generations of crashGenSize connections, one Update each.
func crashChild(dir, role string) error {
	s, err := Open(Options{Dir: dir, MasterKey: testKey(1), GCInterval: -1})
	if err != nil {
		return err
	}
	for gen := 0; ; gen++ {
		err := s.Update(func(tx *Tx) error {
			for i := range crashGenSize {
				if role == roleCrashHalf && gen == 1 && i == crashGenSize/2 {
					_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
					time.Sleep(time.Minute)
				}
				if err := Put(tx, conn(crashID(gen, i), "c", "pw")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Println("committed", gen)
	}
}

// child starts the test binary in a role on dir.
func child(tb testing.TB, role, dir string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, dirEnv+"="+dir)
	return cmd
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir, testKey(1))

	// Same process, second handle.
	if _, err := Open(Options{Dir: dir, MasterKey: testKey(1)}); !errors.Is(err, ErrLocked) {
		t.Errorf("second open in process: err = %v, want ErrLocked", err)
	}
	// Another process.
	out, err := child(t, roleLock, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "locked:") || !strings.Contains(string(out), dir) {
		t.Fatalf("child output %q: want a locked error naming %s", out, dir)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	out, err = child(t, roleLock, dir).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "opened" {
		t.Fatalf("after close, child: %v %q, want opened", err, out)
	}
}

func countGenerations(tb testing.TB, dir string) map[int]int {
	tb.Helper()
	s := openDir(tb, dir, testKey(1))
	defer s.Close()
	counts := map[int]int{}
	mustView(tb, s, func(tx *Tx) error {
		cs, err := List[Connection](tx)
		for _, c := range cs {
			gen, _ := strconv.Atoi(c.ID[len("conn_g") : len("conn_g")+4])
			counts[gen]++
			if c.Password != "pw" {
				tb.Errorf("%s: password %q after reopen", c.ID, c.Password.Reveal())
			}
		}
		return err
	})
	return counts
}

func TestCrashMidUpdateIsAtomic(t *testing.T) {
	dir := t.TempDir()
	out, err := child(t, roleCrashHalf, dir).CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "committed 0") {
		t.Fatalf("child output %q: generation 0 not acknowledged", out)
	}
	counts := countGenerations(t, dir)
	if counts[0] != crashGenSize || counts[1] != 0 || len(counts) != 1 {
		t.Fatalf("after crash: records per generation %v, want {0:%d}", counts, crashGenSize)
	}
}

func TestCrashDuringCommitsIsAtomic(t *testing.T) {
	for round := range 3 {
		dir := t.TempDir()
		cmd := child(t, roleCrashLoop, dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := -1
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
				acked, _ = strconv.Atoi(n)
			}
			if acked >= 2 {
				break
			}
		}
		// Kill at a random moment, likely inside a commit of a later generation.
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		_ = cmd.Process.Kill()
		for sc.Scan() { // acknowledgements written before the kill still count
			if n, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
				acked, _ = strconv.Atoi(n)
			}
		}
		_ = cmd.Wait()
		if acked < 2 {
			t.Fatalf("round %d: child acknowledged only %d generations", round, acked+1)
		}
		counts := countGenerations(t, dir)
		for gen, n := range counts {
			if n != crashGenSize {
				t.Errorf("round %d: generation %d has %d of %d records: a torn transaction", round, gen, n, crashGenSize)
			}
		}
		for gen := 0; gen <= acked; gen++ {
			if counts[gen] != crashGenSize {
				t.Errorf("round %d: acknowledged generation %d lost (%d records)", round, gen, counts[gen])
			}
		}
		t.Logf("round %d: acknowledged %d, found generations %v", round, acked+1, len(counts))
	}
}
