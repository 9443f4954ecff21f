package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/jagad/jagad/config"
)

const validateLong = `Checks a jagad.yaml offline (no daemon, no data dir) and prints every
problem as FILE:LINE:COL: message, then a summary line.

The file is -f FILE, --config FILE or the argument FILE; - reads standard
input (relative ${file:...} references then resolve against the current
directory). Default: $JAGAD_CONFIG, else jagad.yaml.

Exit status: 0 valid, 1 invalid, 2 usage error.`

// stdinName names standard input in diagnostics (FILE:LINE:COL).
const stdinName = "<stdin>"

// maxStdin bounds a document read from standard input.
const maxStdin = 16 << 20

// validateCommand is `jagad validate [-f FILE|--config FILE] [--strict]
// [--resolve] [FILE]`. It prints every diagnostic on stdout, then a summary
// line; an invalid file exits 1 with nothing on stderr.
func (a *app) validateCommand() *cobra.Command {
	var path string
	var strict, resolve bool
	cmd := &cobra.Command{
		Use:   "validate [-f FILE|-] [--strict] [--resolve]",
		Short: "Check a jagad.yaml offline",
		Long:  validateLong,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 || len(args) == 1 && path != "" {
				return usagef("give the config file once (-f FILE)")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				path = args[0]
			}
			return a.validate(path, strict, resolve)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&path, "config", "f", "", "the `FILE` to check; - reads standard input")
	f.BoolVar(&strict, "strict", false, "treat warnings (e.g. a literal secret) as errors")
	f.BoolVar(&resolve, "resolve", false, "require every ${VAR} and ${file:...} to resolve")
	return cmd
}

// validate checks path (""): $JAGAD_CONFIG, else jagad.yaml; "-": stdin).
// With strict warnings count as errors; unresolved ${...} references are
// errors only with resolve.
func (a *app) validate(path string, strict, resolve bool) error {
	if path == "" {
		path = envOr(a.env, "JAGAD_CONFIG", "jagad.yaml")
	}
	opts := config.Options{LookupEnv: a.env, Resolve: resolve}
	var (
		f   *config.File
		rep *config.Report
	)
	if path == "-" {
		data, err := readStdin(a.stdin)
		if err != nil {
			return err
		}
		path = stdinName
		f, rep = config.Parse(path, data, opts)
	} else {
		f, rep = config.Load(path, opts)
	}
	if strict {
		for i, d := range rep.Diagnostics {
			if !d.Unresolved {
				rep.Diagnostics[i].Severity = config.Error
			}
		}
	}
	for _, d := range rep.Diagnostics {
		fmt.Fprintln(a.stdout, d.String())
	}
	nerr, nwarn := len(rep.Errors()), len(rep.Warnings())
	if nerr > 0 {
		fmt.Fprintf(a.stdout, "%s: INVALID (%s%s)\n", path, plural(nerr, "error", "errors"), warnSuffix(nwarn, ", "))
		return exitStatus(exitFailure)
	}
	if f == nil { // cannot happen without errors; stay safe
		return exitStatus(exitFailure)
	}
	fmt.Fprintf(a.stdout, "%s: OK (%s, %s, %s, %s%s)\n", path,
		plural(len(f.Connections), "connection", "connections"),
		plural(len(f.Storage), "storage", "storage"),
		plural(len(f.Notifications), "notification", "notifications"),
		plural(len(f.Schedules), "schedule", "schedules"),
		warnSuffix(nwarn, "; "))
	return nil
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
