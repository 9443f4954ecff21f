package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/jagad/jagad/config"
)

const validateUsage = `Usage: jagad validate [-f FILE | --config FILE | FILE] [--strict] [--resolve]

Checks a jagad.yaml offline (no daemon, no data dir) and prints every
problem as FILE:LINE:COL: message, then a summary line.

  -f, --config FILE  the file to check; - reads standard input (relative
                     ${file:...} references then resolve against the
                     current directory). Default: $JAGAD_CONFIG, else
                     jagad.yaml
  --strict           treat warnings (e.g. a literal secret) as errors
  --resolve          require every ${VAR} and ${file:...} to resolve
  -h, --help         show this help

Exit status: 0 valid, 1 invalid, 2 usage error.
`

// stdinName names standard input in diagnostics (FILE:LINE:COL).
const stdinName = "<stdin>"

// maxStdin bounds a document read from standard input.
const maxStdin = 16 << 20

// runValidate implements `jagad validate [-f FILE|--config FILE] [--strict]
// [--resolve] [FILE]`. The file defaults to $JAGAD_CONFIG, then jagad.yaml;
// "-" is standard input. It prints every diagnostic as FILE:LINE:COL:
// message on stdout, then a summary line. Exit status: 0 valid, 1 invalid
// (with --strict warnings count as errors; unresolved ${...} references are
// errors only with --resolve), 2 usage error; --help prints the usage on
// stdout and exits 0. It needs no daemon and no data dir. env looks up
// environment variables (nil means os.LookupEnv).
func runValidate(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	if env == nil {
		env = os.LookupEnv
	}
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // help goes to stdout, errors to stderr: below
	var path string
	fs.StringVar(&path, "f", "", "")
	fs.StringVar(&path, "config", "", "")
	strict := fs.Bool("strict", false, "")
	resolve := fs.Bool("resolve", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, validateUsage)
			return 0
		}
		fmt.Fprintln(stderr, "Run 'jagad validate --help' for usage.")
		return 2
	}
	switch {
	case fs.NArg() > 1 || (fs.NArg() == 1 && path != ""):
		fmt.Fprintln(stderr, "jagad validate: give the config file once (-f FILE)")
		fmt.Fprintln(stderr, "Run 'jagad validate --help' for usage.")
		return 2
	case fs.NArg() == 1:
		path = fs.Arg(0)
	case path == "":
		path = "jagad.yaml"
		if v, ok := env("JAGAD_CONFIG"); ok && v != "" {
			path = v
		}
	}
	opts := config.Options{LookupEnv: env, Resolve: *resolve}
	var (
		f   *config.File
		rep *config.Report
	)
	if path == "-" {
		data, err := readStdin(stdin)
		if err != nil {
			fmt.Fprintf(stderr, "jagad validate: %v\n", err)
			return 1
		}
		path = stdinName
		f, rep = config.Parse(path, data, opts)
	} else {
		f, rep = config.Load(path, opts)
	}
	if *strict {
		for i, d := range rep.Diagnostics {
			if !d.Unresolved {
				rep.Diagnostics[i].Severity = config.Error
			}
		}
	}
	for _, d := range rep.Diagnostics {
		fmt.Fprintln(stdout, d.String())
	}
	nerr, nwarn := len(rep.Errors()), len(rep.Warnings())
	if nerr > 0 {
		fmt.Fprintf(stdout, "%s: INVALID (%s%s)\n", path, plural(nerr, "error", "errors"), warnSuffix(nwarn, ", "))
		return 1
	}
	if f == nil { // cannot happen without errors; stay safe
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK (%s, %s, %s, %s%s)\n", path,
		plural(len(f.Connections), "connection", "connections"),
		plural(len(f.Storage), "storage", "storage"),
		plural(len(f.Notifications), "notification", "notifications"),
		plural(len(f.Schedules), "schedule", "schedules"),
		warnSuffix(nwarn, "; "))
	return 0
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func warnSuffix(n int, sep string) string {
	if n == 0 {
		return ""
	}
	return sep + plural(n, "warning", "warnings")
}

func readStdin(stdin io.Reader) ([]byte, error) {
	if stdin == nil {
		return nil, errors.New("no standard input")
	}
	data, err := io.ReadAll(io.LimitReader(stdin, maxStdin+1))
	if err != nil {
		return nil, fmt.Errorf("read standard input: %w", err)
	}
	if len(data) > maxStdin {
		return nil, fmt.Errorf("standard input is larger than %d bytes", maxStdin)
	}
	return data, nil
}
