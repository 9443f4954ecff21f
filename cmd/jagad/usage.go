package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes shared by every subcommand (`jagad plan` adds 2 = changes, so
// its usage errors exit 1; see planUsage).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a command line that cannot be run (unknown flag, bad flag
// value, missing or extra argument): exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// parseFlags parses args with fs. It returns (exit code, false) when the
// command must stop: -h/--help printed head and the flags on stdout (0), or
// a usage error was reported on stderr (2).
func parseFlags(fs *flag.FlagSet, args []string, head string, stdout, stderr io.Writer) (int, bool) {
	err := parseQuiet(fs, args, head)
	var help helpRequest
	switch {
	case err == nil:
		return 0, true
	case errors.As(err, &help):
		help.print(stdout)
		return exitOK, false
	default:
		return reportUsage(stderr, fs.Name(), err), false
	}
}

// parseQuiet parses args with fs and prints nothing: it returns a
// helpRequest for -h/--help and a usageError for anything else.
func parseQuiet(fs *flag.FlagSet, args []string, head string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return helpRequest{print: func(w io.Writer) { printUsage(w, fs, head) }}
	default:
		return usageError{err}
	}
}

// helpRequest is returned by a parser when the user asked for --help.
type helpRequest struct{ print func(io.Writer) }

func (helpRequest) Error() string { return "help requested" }

// reportUsage prints a usage error the way the flag package does and
// returns its exit code.
func reportUsage(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "jagad %s: %s\nRun 'jagad %s --help' for usage.\n", cmd, longDashes(err.Error()), cmd)
	return exitUsage
}

// longDashes rewrites the flag package's "-name" as "--name" in msg (one
// letter names keep one dash), so errors match the help and README.
func longDashes(msg string) string {
	words := strings.Split(msg, " ")
	for i, w := range words {
		name := strings.TrimPrefix(w, "-")
		if name == w || strings.HasPrefix(name, "-") || len(strings.TrimRight(name, ":,")) < 2 {
			continue
		}
		if c := name[0]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			words[i] = "-" + w
		}
	}
	return strings.Join(words, " ")
}

// printUsage writes head, then every flag of fs in README's style:
// "--name VALUE" ("-c" for one-letter names), its help and its default.
// Flags with an empty help string are aliases documented by another flag.
func printUsage(w io.Writer, fs *flag.FlagSet, head string) {
	fmt.Fprint(w, head)
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		if f.Usage == "" {
			return
		}
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		typ, help := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  %s%s", dash, f.Name)
		if typ != "" {
			fmt.Fprintf(&b, " %s", typ)
		}
		fmt.Fprintf(&b, "\n      %s", help)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(&b, " (default %q)", f.DefValue)
		}
		b.WriteString("\n")
	})
	if b.Len() > 0 {
		fmt.Fprint(w, "\nFlags:\n", b.String())
	}
	fmt.Fprint(w, "  -h, --help\n      show this help\n")
}

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// parseInterspersed parses flags before and after positional arguments. It
// prints nothing: see helpOrUsage.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// failOrUsage reports err: a usageError exits 2, anything else 1.
func failOrUsage(stderr io.Writer, cmd string, err error) int {
	if errors.As(err, new(usageError)) {
		return reportUsage(stderr, cmd, err)
	}
	fmt.Fprintf(stderr, "jagad %s: %v\n", cmd, err)
	return exitFailure
}

// helpOrUsage handles the error of parseInterspersed: --help prints the
// command's usage on stdout (exit 0), a usage error goes to stderr (exit 2).
// It returns ok when there was no error.
func helpOrUsage(err error, cmd, usage string, stdout, stderr io.Writer) (int, bool) {
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return exitOK, false
	default:
		return reportUsage(stderr, cmd, err), false
	}
}
