package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// noEnv is an empty environment.
func noEnv(string) (string, bool) { return "", false }

// TestValidateExamples: `jagad validate` and `jagad validate --strict` pass
// on every jagad.yaml in examples/ (no literal secrets; unset variables stay
// warnings without --resolve).
func TestValidateExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			for _, args := range [][]string{{"validate", "-f", f}, {"validate", "--strict", "-f", f}} {
				var out, errOut bytes.Buffer
				if code := run(args, nil, &out, &errOut, noEnv); code != 0 {
					t.Fatalf("%v: exit %d\n%s%s", args, code, out.String(), errOut.String())
				}
				if !strings.Contains(out.String(), "OK") {
					t.Fatalf("%v printed no OK summary:\n%s", args, out.String())
				}
			}
		})
	}
}

// TestValidateBadFileExitsOne: an invalid file exits 1 with FILE:LINE:COL.
func TestValidateBadFileExitsOne(t *testing.T) {
	f := filepath.Join(t.TempDir(), "jagad.yaml")
	writeFile(t, f, "version: 1\nconnections:\n  - name: a\n    db_type: oracle\n")
	var out, errOut bytes.Buffer
	if code := run([]string{"validate", "-f", f}, nil, &out, &errOut, noEnv); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	if !strings.Contains(out.String()+errOut.String(), f+":4:") {
		t.Fatalf("no FILE:LINE position in:\n%s%s", out.String(), errOut.String())
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, nil, &out, &errOut, noEnv); code != 0 || !strings.HasPrefix(out.String(), "jagad ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"frobnicate"}, nil, &out, &errOut, noEnv); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errOut.String())
	}
}

func TestVersionFlag(t *testing.T) {
	for _, a := range []string{"--version", "-v"} {
		var out, errOut bytes.Buffer
		if code := run([]string{a}, nil, &out, &errOut, noEnv); code != 0 || !strings.HasPrefix(out.String(), "jagad ") {
			t.Fatalf("%s: exit %d, out %q, err %q", a, code, out.String(), errOut.String())
		}
	}
}

// TestSecondServeOnSameDataDir: a second `jagad serve` on a data dir in use
// exits non-zero with a message about the lock.
func TestSecondServeOnSameDataDir(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"JAGAD_DATA_DIR": dir, "JAGAD_LISTEN": "127.0.0.1:0", "JAGAD_ADMIN_PASS": "first-secret"}
	startObsDaemon(t, env)
	var out, errOut bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := run([]string{"serve"}, nil, &out, &errOut, lookup)
	if code == 0 {
		t.Fatal("second serve on the same data dir exited 0")
	}
	if !strings.Contains(errOut.String(), "locked by another jagad process") || !strings.Contains(errOut.String(), dir) {
		t.Fatalf("error does not explain the lock:\n%s", errOut.String())
	}
}

// TestJSONLogDurationsInSeconds: with --log-format json a time.Duration
// attribute is a number of seconds under KEY_seconds (also inside groups);
// text logs keep Go's "1.5s".
func TestJSONLogDurationsInSeconds(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("done", "duration", 1500*time.Millisecond, "timeout_seconds", 2*time.Minute,
		slog.Group("job", "wait", 250*time.Microsecond), "count", 3)
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	want := map[string]any{"duration_seconds": 1.5, "timeout_seconds": 120.0, "count": 3.0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v (%s)", k, got[k], v, buf.String())
		}
	}
	if job, _ := got["job"].(map[string]any); job["wait_seconds"] != 0.00025 {
		t.Errorf("job.wait_seconds = %#v, want 0.00025 (%s)", job["wait_seconds"], buf.String())
	}
	if _, ok := got["duration"]; ok {
		t.Errorf("nanosecond duration still logged: %s", buf.String())
	}

	buf.Reset()
	if log, err = newLogger(&buf, "info", "text"); err != nil {
		t.Fatal(err)
	}
	log.Info("done", "duration", 1500*time.Millisecond)
	if !strings.Contains(buf.String(), "duration=1.5s") {
		t.Errorf("text log changed: %s", buf.String())
	}
}

// singleDashLong finds a long flag written with one dash ("-data-dir"), the
// flag package's style, in help text that should read "--data-dir".
func singleDashLong(s string) string {
	for _, w := range strings.Fields(s) {
		w = strings.TrimLeft(w, "[(|")
		if len(w) > 2 && w[0] == '-' && w[1] >= 'a' && w[1] <= 'z' && w[2] >= 'a' && w[2] <= 'z' {
			return w
		}
	}
	return ""
}

// TestHelpAndUsageExitCodes: for the top level and every subcommand, -h and
// --help print a usage (with --flag style) on stdout and exit 0; a usage
// error (unknown flag, stray argument, missing subcommand) exits 2 with a
// message on stderr. `jagad plan` keeps 2 for "changes", so its usage errors
// exit 1.
func TestHelpAndUsageExitCodes(t *testing.T) {
	commands := [][]string{
		{}, {"help"}, {"serve"}, {"daemon"}, {"validate"}, {"plan"}, {"keygen"}, {"decrypt"}, {"restore"},
		{"catalog"}, {"catalog", "rebuild"}, {"catalog", "list"}, {"admin"}, {"admin", "reset-password"}, {"version"},
	}
	for _, cmd := range commands {
		for _, h := range []string{"--help", "-h"} {
			args := append(append([]string{}, cmd...), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out, errOut bytes.Buffer
				code := run(args, strings.NewReader(""), &out, &errOut, noEnv)
				if code != 0 {
					t.Fatalf("exit %d, want 0\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
				}
				if !strings.Contains(out.String(), "Usage") || errOut.Len() != 0 {
					t.Errorf("want the usage on stdout and nothing on stderr\nstdout: %s\nstderr: %s", out.String(), errOut.String())
				}
				if w := singleDashLong(out.String()); w != "" {
					t.Errorf("help shows %q: want --flag style\n%s", w, out.String())
				}
			})
		}
	}
	t.Run("help COMMAND", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := run([]string{"help", "admin"}, nil, &out, &errOut, noEnv); code != 0 || !strings.Contains(out.String(), "reset-password") {
			t.Errorf("exit %d: %s%s", code, out.String(), errOut.String())
		}
	})

	usageErrors := []struct {
		args []string
		want int
	}{
		{[]string{"frobnicate"}, 2},
		{[]string{"--no-such-flag"}, 2}, // the default command is serve
		{[]string{"serve", "--no-such-flag"}, 2},
		{[]string{"serve", "extra"}, 2},
		{[]string{"serve", "--log-level", "loud"}, 2},
		{[]string{"validate", "--no-such-flag"}, 2},
		{[]string{"validate", "a.yaml", "b.yaml"}, 2},
		{[]string{"plan", "--no-such-flag"}, 1},
		{[]string{"keygen", "--no-such-flag"}, 2},
		{[]string{"keygen", "extra"}, 2},
		{[]string{"decrypt", "--no-such-flag"}, 2},
		{[]string{"decrypt", "extra"}, 2},
		{[]string{"restore", "--no-such-flag"}, 2},
		{[]string{"restore"}, 2},
		{[]string{"catalog"}, 2},
		{[]string{"catalog", "frob"}, 2},
		{[]string{"catalog", "list", "--no-such-flag"}, 2},
		{[]string{"catalog", "list"}, 2}, // --storage-type is required
		{[]string{"admin"}, 2},
		{[]string{"admin", "frob"}, 2},
		{[]string{"admin", "reset-password", "--no-such-flag"}, 2},
		{[]string{"admin", "reset-password", "new-password-in-argv"}, 2},
		{[]string{"version", "extra"}, 2},
	}
	for _, c := range usageErrors {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(c.args, strings.NewReader(""), &out, &errOut, noEnv)
			if code != c.want {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.want, out.String(), errOut.String())
			}
			if errOut.Len() == 0 {
				t.Error("no message on stderr")
			}
		})
	}
}

// TestValidateStdin: `jagad validate -f -` reads the document from stdin,
// as `jagad plan -f -` does, and names it <stdin> in diagnostics.
func TestValidateStdin(t *testing.T) {
	good, err := os.ReadFile("../../examples/jagad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, stdin string
		want        int
		wantOut     string
	}{
		{"valid", string(good), 0, "<stdin>: OK"},
		{"invalid", "version: 1\nconnections:\n  - name: a\n    db_type: oracle\n", 1, "<stdin>:4:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run([]string{"validate", "-f", "-"}, strings.NewReader(tt.stdin), &out, &errOut, noEnv)
			if code != tt.want || !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, tt.want, tt.wantOut, out.String(), errOut.String())
			}
		})
	}
}

// commandPaths lists every command of the tree below root, hidden ones
// included, as argument lists ("catalog", "rebuild").
func commandPaths(c *cobra.Command, prefix []string) [][]string {
	var out [][]string
	for _, sub := range c.Commands() {
		p := append(append([]string{}, prefix...), sub.Name())
		out = append(out, p)
		out = append(out, commandPaths(sub, p)...)
	}
	return out
}

// treeCommands is every command path of the tree run builds (the
// daemon-client commands included).
func treeCommands(t *testing.T) [][]string {
	t.Helper()
	root := (&app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, env: noEnv}).rootCommand()
	paths := commandPaths(root, nil)
	if len(paths) < 15 {
		t.Fatalf("the tree has %d commands: %v", len(paths), paths)
	}
	return paths
}

// TestEveryCommandHelp walks the whole command tree: `COMMAND --help`, `-h`
// and `help COMMAND` print the usage on stdout, nothing on stderr, and exit
// 0.
func TestEveryCommandHelp(t *testing.T) {
	for _, path := range treeCommands(t) {
		for _, args := range [][]string{append(path, "--help"), append(path, "-h"), append([]string{"help"}, path...)} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out, errOut bytes.Buffer
				if code := run(args, strings.NewReader(""), &out, &errOut, noEnv); code != 0 {
					t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
				}
				if !strings.Contains(out.String(), "Usage:\n  jagad "+strings.Join(path, " ")) || errOut.Len() != 0 {
					t.Errorf("want this command's usage on stdout and nothing on stderr\nstdout: %s\nstderr: %s", out.String(), errOut.String())
				}
			})
		}
	}
}

// TestEveryCommandUsageError walks the whole command tree: an unknown flag
// is a usage error, exit 2 (jagad plan: 1), reported as one line naming the
// command and one hint line on stderr, with nothing on stdout. A command
// that groups others refuses a missing or unknown subcommand the same way.
func TestEveryCommandUsageError(t *testing.T) {
	root := (&app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, env: noEnv}).rootCommand()
	for _, path := range treeCommands(t) {
		cases := [][]string{append(path, "--no-such-flag")}
		if c, _, err := root.Find(path); err == nil && c.HasSubCommands() {
			cases = append(cases, path, append(path, "no-such-subcommand"))
		}
		for _, args := range cases {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				want := exitUsage
				if path[0] == "plan" {
					want = exitFailure
				}
				var out, errOut bytes.Buffer
				code := run(args, strings.NewReader(""), &out, &errOut, noEnv)
				if code != want {
					t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, want, out.String(), errOut.String())
				}
				name := "jagad " + strings.Join(path, " ")
				lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
				if len(lines) != 2 || !strings.HasPrefix(lines[0], name+": ") || lines[1] != "Run '"+name+" --help' for usage." || out.Len() != 0 {
					t.Errorf("want %q: ONE-LINE ERROR and the hint on stderr, nothing on stdout\nstdout: %s\nstderr: %s", name, out.String(), errOut.String())
				}
			})
		}
	}
}

// TestCompletionScripts: `jagad completion bash|zsh|fish` print a script
// for that shell; the bash one parses (bash -n); the scripts complete
// through `jagad __complete`, which answers from the command tree.
func TestCompletionScripts(t *testing.T) {
	for shell, marker := range map[string]string{"bash": "complete -o default -F __start_jagad jagad", "zsh": "#compdef jagad", "fish": "complete -c jagad"} {
		t.Run(shell, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run([]string{"completion", shell}, nil, &out, &errOut, noEnv); code != 0 || errOut.Len() != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if !strings.Contains(out.String(), marker) || !strings.Contains(out.String(), "__complete") {
				t.Fatalf("no %q in the %s script:\n%.400s", marker, shell, out.String())
			}
			if shell == "bash" {
				if _, err := exec.LookPath("bash"); err == nil {
					check := exec.Command("bash", "-n")
					check.Stdin = &out
					if msg, err := check.CombinedOutput(); err != nil {
						t.Errorf("bash -n: %v\n%s", err, msg)
					}
				}
			}
		})
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "cat"}, []string{"catalog"}},
		{[]string{"__complete", "catalog", ""}, []string{"list", "rebuild"}},
		{[]string{"__complete", "restore", "--storage"}, []string{"--storage-type"}},
		{[]string{"__complete", "completion", ""}, []string{"bash", "fish", "zsh"}},
	} {
		var out, errOut bytes.Buffer
		if code := run(c.args, nil, &out, &errOut, noEnv); code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut.String())
		}
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: no %q in\n%s", c.args, w, out.String())
			}
		}
	}
}

// TestManPages: `jagad man-pages DIR` (what `make docs` runs) writes a man
// page for every command a user can run, hidden ones and help aside, with
// its flags; no environment variable of the machine shows as a default.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	env := mapEnv(map[string]string{"JAGAD_DATA_DIR": "/leaked/from/env", "JAGAD_LISTEN": "10.9.8.7:1"})
	var out, errOut bytes.Buffer
	if code := run([]string{"man-pages", dir}, nil, &out, &errOut, env); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	root := (&app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, env: noEnv}).rootCommand()
	want := map[string]bool{"jagad.1": true}
	for _, path := range treeCommands(t) {
		c, _, err := root.Find(path)
		if err != nil || !c.IsAvailableCommand() {
			continue
		}
		want["jagad-"+strings.Join(path, "-")+".1"] = true
	}
	for _, must := range []string{"jagad-serve.1", "jagad-catalog-rebuild.1", "jagad-completion-bash.1", "jagad-plan.1"} {
		if !want[must] {
			t.Fatalf("the tree lacks %s: %v", must, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range entries {
		got[e.Name()] = true
		page, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(page), ".nh\n.TH \"JAGAD\" \"1\"") {
			t.Errorf("%s is not a section 1 man page: %.80q", e.Name(), page)
		}
		if strings.Contains(string(page), "/leaked/from/env") || strings.Contains(string(page), "10.9.8.7") {
			t.Errorf("%s shows an environment variable's value", e.Name())
		}
	}
	for name := range want {
		if !got[name] {
			t.Errorf("no man page %s", name)
		}
	}
	for name := range got {
		if !want[name] {
			t.Errorf("unexpected man page %s", name)
		}
	}
	serve, _ := os.ReadFile(filepath.Join(dir, "jagad-serve.1"))
	if !strings.Contains(string(serve), `\fB--data-dir\fP`) || !strings.Contains(string(serve), "JAGAD_DATA_DIR") {
		t.Errorf("jagad-serve.1 lacks --data-dir and its variable:\n%s", serve)
	}
}

// TestSingleDashLongFlags: the Go flag package's one-dash spelling of a
// long flag, which jagad took before GNU-style flags, still works (with a
// warning on stderr) instead of pflag's reading of "-output=F" as
// "-o utput=F"; values and arguments after "--" are left alone.
func TestSingleDashLongFlags(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "k.txt")
	var out, errOut bytes.Buffer
	if code := run([]string{"keygen", "-output=" + keyFile}, nil, &out, &errOut, noEnv); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if _, err := os.Stat(keyFile); err != nil {
		t.Fatalf("-output=FILE did not write FILE: %v", err)
	}
	if !strings.Contains(errOut.String(), "-output is deprecated: write --output") {
		t.Errorf("no deprecation warning: %q", errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "utput="+keyFile)); err == nil {
		t.Error("-output= was read as -o utput=")
	}

	a := &app{stderr: io.Discard, env: noEnv}
	root := a.rootCommand()
	for _, c := range []struct{ in, want []string }{
		{[]string{"serve", "-data-dir", "/d", "-config=/c.yaml", "-c", "x"}, []string{"serve", "--data-dir", "/d", "--config=/c.yaml", "-c", "x"}},
		{[]string{"serve", "--data-dir", "-listen"}, []string{"serve", "--data-dir", "-listen"}}, // a value
		{[]string{"validate", "-f", "-strict", "-resolve"}, []string{"validate", "-f", "-strict", "--resolve"}},
		{[]string{"decrypt", "--", "-output"}, []string{"decrypt", "--", "-output"}},
		{[]string{"validate", "-nosuch"}, []string{"validate", "-nosuch"}},
		{[]string{"-help"}, []string{"--help"}},
	} {
		if got := a.gnuDashes(root, c.in); !slices.Equal(got, c.want) {
			t.Errorf("%q -> %q, want %q", c.in, got, c.want)
		}
	}
}

// TestBinaryExitCodes runs the built binary: help and version exit 0 on
// stdout, a usage error 2 and a failure 1, as os.Exit reports them.
func TestBinaryExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "jagad")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, c := range []struct {
		args       []string
		want       int
		wantStdout string
	}{
		{[]string{"--help"}, 0, "Usage:\n  jagad [command]"},
		{[]string{"help", "restore"}, 0, "Usage:\n  jagad restore"},
		{[]string{"--version"}, 0, "jagad dev (commit unknown)\n"},
		{[]string{"completion", "bash"}, 0, "# bash completion V2 for jagad"},
		{[]string{"frobnicate"}, 2, ""},
		{[]string{"validate", "--no-such-flag"}, 2, ""},
		{[]string{"plan", "--no-such-flag"}, 1, ""},
		{[]string{"validate", "-f", filepath.Join(t.TempDir(), "missing.yaml")}, 1, "INVALID"},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.want || !strings.Contains(out.String(), c.wantStdout) {
			t.Errorf("jagad %v: exit %d (want %d), stdout lacks %q\nstdout: %.300s\nstderr: %s", c.args, code, c.want, c.wantStdout, out.String(), errOut.String())
		}
	}
}
