package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// RunValidate implements `jagad validate [-f FILE|--config FILE] [--strict]
// [--resolve] [FILE]`. The file defaults to $JAGAD_CONFIG, then jagad.yaml.
// It prints every diagnostic as FILE:LINE:COL: message on stdout, then a
// summary line. Exit status: 0 valid, 1 invalid (with --strict warnings
// count as errors; unresolved ${...} references are errors only with
// --resolve), 2 usage error. It needs no daemon and no data dir. env looks up
// environment variables (nil means os.LookupEnv).
func RunValidate(args []string, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	if env == nil {
		env = os.LookupEnv
	}
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var path string
	fs.StringVar(&path, "f", "", "config file (default $JAGAD_CONFIG or jagad.yaml)")
	fs.StringVar(&path, "config", "", "config file (same as -f)")
	strict := fs.Bool("strict", false, "treat warnings as errors")
	resolve := fs.Bool("resolve", false, "require every ${VAR} and ${file:...} to resolve")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: jagad validate [-f FILE|--config FILE] [--strict] [--resolve]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case fs.NArg() > 1 || (fs.NArg() == 1 && path != ""):
		fmt.Fprintln(stderr, "validate: give the config file once (-f FILE)")
		return 2
	case fs.NArg() == 1:
		path = fs.Arg(0)
	case path == "":
		path = "jagad.yaml"
		if v, ok := env("JAGAD_CONFIG"); ok && v != "" {
			path = v
		}
	}
	f, rep := Load(path, Options{LookupEnv: env, Resolve: *resolve})
	if *strict {
		for i, d := range rep.Diagnostics {
			if !d.Unresolved {
				rep.Diagnostics[i].Severity = Error
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
