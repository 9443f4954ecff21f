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
  jagad validate [-f FILE] [--strict] [--resolve]                   check a jagad.yaml offline
  jagad plan     -f FILE                                            diff a jagad.yaml against a running daemon
  jagad keygen   [--age]                                            print a new encryption key
  jagad decrypt  --key-file F | --key K | --identity F < in > out   decrypt a .jgd object offline
  jagad restore  ...                                                restore from storage without a daemon
  jagad catalog  rebuild ...                                        rebuild backup records from storage manifests
  jagad version                                                     print version and commit

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
		case a == "--version" || a == "-v" || a == "--help" || a == "-h":
			cmd, args = a, args[1:]
		case a != "" && a[0] != '-':
			cmd, args = a, args[1:]
		}
	}
	switch cmd {
	case "serve", "daemon":
		return runServe(args, stdout, stderr, env)
	case "validate":
		return runValidate(args, stdout, stderr, env)
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
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "jagad %s (commit %s)\n", version, commit)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "jagad: unknown command %q\n\n%s", cmd, usage)
		return 1
	}
}
