// Command jagad is the Jagad backup daemon and its offline tools.
package main

import (
	"fmt"
	"io"
	"os"
)

// Set by -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

const usage = `jagad — declarative database backup manager

Usage:
  jagad serve    [--config FILE] [--listen ADDR] [--data-dir DIR]   run the daemon
  jagad validate [-f FILE|-] [--strict] [--resolve]                 check a jagad.yaml offline (- reads stdin)
  jagad plan     -f FILE|-                                          diff a jagad.yaml against a running daemon
  jagad keygen   [--age] [-o FILE]                                  print a new encryption key
  jagad decrypt  --key-file F | --key K | --identity F < in > out   decrypt a .jgd object offline
  jagad restore  ... BACKUP_KEY --to URL                            restore from storage without a daemon
  jagad catalog  rebuild|list ...                                   rebuild backup records from storage manifests
  jagad admin    reset-password --data-dir DIR                      set the admin password (daemon stopped)
  jagad version                                                     print version and commit
  jagad help     [COMMAND]                                          this help, or a command's (also COMMAND --help)

Exit status: 0 success, 1 failure, 2 usage error (jagad plan: 0 no change,
2 changes, 1 error of any kind, usage errors included).

Environment: JAGAD_CONFIG, JAGAD_LISTEN, JAGAD_PORT, JAGAD_DATA_DIR, JAGAD_ADMIN_USER,
JAGAD_ADMIN_PASS, JAGAD_MASTER_KEY, JAGAD_ENCRYPTION_KEY, JAGAD_LOG_LEVEL, JAGAD_LOG_FORMAT,
JAGAD_METRICS_TOKEN. Flags win over the environment.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv))
}

// run dispatches a subcommand and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	cmd := "serve"
	if len(args) > 0 {
		switch a := args[0]; {
		case a == "--version" || a == "-v" || a == "--help" || a == "-h" || a == "-help":
			cmd, args = a, args[1:]
		case a != "" && a[0] != '-':
			cmd, args = a, args[1:]
		}
	}
	switch cmd {
	case "serve", "daemon":
		return runServe(args, stdout, stderr, env)
	case "validate":
		return runValidate(args, stdin, stdout, stderr, env)
	case "plan":
		return runPlan(args, stdin, stdout, stderr, env)
	case "keygen":
		return runKeygen(args, stdout, stderr)
	case "decrypt":
		return runDecrypt(args, stdin, stdout, stderr, env)
	case "restore":
		return runRestore(args, stdin, stdout, stderr, env)
	case "catalog":
		return runCatalog(args, stdout, stderr, env)
	case "admin":
		return runAdmin(args, stdin, stdout, stderr, env)
	case "version", "--version", "-v":
		return runVersion(args, stdout, stderr)
	case "help", "--help", "-h", "-help":
		if cmd == "help" && len(args) > 0 && args[0] != "help" {
			return run(append(args[:1:1], "--help"), stdin, stdout, stderr, env)
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		if rc, ok := runRemote(&app{stdin: stdin, stdout: stdout, stderr: stderr, env: env}, cmd, args); ok {
			return rc
		}
		fmt.Fprintf(stderr, "jagad: unknown command %q\nRun 'jagad --help' for usage.\n", cmd)
		return exitUsage
	}
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	switch {
	case wantsHelp(args):
		fmt.Fprint(stdout, "Usage: jagad version\n\nPrints the version and the commit jagad was built from.\n")
		return exitOK
	case len(args) > 0:
		return reportUsage(stderr, "version", fmt.Errorf("unexpected argument %q", args[0]))
	}
	fmt.Fprintf(stdout, "jagad %s (commit %s)\n", version, commit)
	return exitOK
}
