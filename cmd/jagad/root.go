package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const rootLong = `jagad — declarative database backup manager.

With no command, jagad runs the daemon (jagad serve); flags given without a
command are serve's.

Exit status: 0 success, 1 failure, 2 usage error (unknown command or flag,
missing or extra argument). jagad plan differs: 0 no change, 2 changes,
1 error of any kind, usage errors included.

Environment: JAGAD_CONFIG, JAGAD_LISTEN, JAGAD_PORT, JAGAD_DATA_DIR,
JAGAD_ADMIN_USER, JAGAD_ADMIN_PASS, JAGAD_MASTER_KEY, JAGAD_ENCRYPTION_KEY,
JAGAD_LOG_LEVEL, JAGAD_LOG_FORMAT, JAGAD_METRICS_TOKEN (serve); JAGAD_URL,
JAGAD_TOKEN (the daemon client). Flags win over the environment.`

// Command groups of the root's help.
const (
	groupServer  = "server"
	groupOffline = "offline"
	groupClient  = "client"
)

// run runs the command line args and returns the process exit code. env
// looks up environment variables (nil: os.LookupEnv).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	if env == nil {
		env = os.LookupEnv
	}
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, env: env}
	return a.run(args)
}

// run runs args through the command tree.
func (a *app) run(args []string) int {
	root := a.rootCommand()
	args = a.gnuDashes(root, withDefaultCommand(args))
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	return a.exitCode(root, cmd, err)
}

// rootCommand builds the whole command tree.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "jagad",
		Short:         "Declarative database backup manager",
		Long:          rootLong,
		Version:       fmt.Sprintf("%s (commit %s)", version, commit),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("jagad {{.Version}}\n")
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddGroup(
		&cobra.Group{ID: groupServer, Title: "Daemon:"},
		&cobra.Group{ID: groupOffline, Title: "Offline tools (no daemon needed):"},
		&cobra.Group{ID: groupClient, Title: "Daemon client:"},
	)
	root.AddCommand(a.serveCommand())
	for _, c := range []*cobra.Command{a.validateCommand(), a.keygenCommand(), a.decryptCommand(),
		a.restoreCommand(), a.catalogCommand(), a.adminCommand()} {
		c.GroupID = groupOffline
		root.AddCommand(c)
	}
	root.AddCommand(a.planCommand())
	for _, c := range a.remoteCommands() {
		if c.GroupID == "" {
			c.GroupID = groupClient
		}
		root.AddCommand(c)
	}
	root.AddCommand(a.versionCommand(), a.manCommand())
	root.SetHelpCommand(helpCommand())
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	finishTree(root)
	return root
}

// exitCode reports err on stderr and returns the exit code of the command
// line.
func (a *app) exitCode(root, cmd *cobra.Command, err error) int {
	if err == nil {
		return exitOK
	}
	var status exitStatus
	if errors.As(err, &status) {
		return int(status)
	}
	if cmd == nil {
		cmd = root
	}
	path := cmd.CommandPath()
	var u usageError
	if !errors.As(err, &u) && cmd != root {
		fmt.Fprintf(a.stderr, "%s: %v\n", path, err)
		return exitFailure
	}
	// A usage error, or cobra's "unknown command" at the root.
	msg := err.Error()
	var name string
	if _, serr := fmt.Sscanf(msg, "unknown command %q", &name); serr == nil && cmd == root {
		msg = fmt.Sprintf("unknown command %q", name)
		if s := root.SuggestionsFor(name); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", s[0])
		}
	}
	msg, _, _ = strings.Cut(msg, "\n")
	fmt.Fprintf(a.stderr, "%s: %s\nRun '%s --help' for usage.\n", path, msg, path)
	if code, err := strconv.Atoi(cmd.Annotations[usageExitAnnotation]); err == nil {
		return code
	}
	return exitUsage
}

// withDefaultCommand makes serve the command when args name none: no
// arguments, or flags first (serve's), except help and version.
func withDefaultCommand(args []string) []string {
	if len(args) == 0 {
		return []string{"serve"}
	}
	switch a := args[0]; {
	case a == "-h" || a == "--help" || a == "-help" || a == "-v" || a == "--version" || a == "-version":
		return args
	case strings.HasPrefix(a, "-"):
		return append([]string{"serve"}, args...)
	}
	return args
}

// gnuDashes rewrites the Go flag package's spelling of a long flag, one
// dash ("-data-dir DIR", "-config=FILE"), which jagad accepted before it
// moved to GNU-style flags, as "--data-dir" with a deprecation warning on
// stderr. pflag would read "-config=F" as "-c onfig=F". Only the exact names
// of the command's long flags are rewritten, never after "--" or in the
// value of a flag.
func (a *app) gnuDashes(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil {
		return args
	}
	lookup := func(name string) *pflag.Flag {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f
		}
		return cmd.InheritedFlags().Lookup(name)
	}
	isBool := func(name string) bool {
		if name == "help" || name == "version" && cmd == root {
			return true
		}
		f := lookup(name)
		return f == nil || f.NoOptDefVal != ""
	}
	out := make([]string, 0, len(args))
	value := false // args[i] is the value of the flag before it
	for i, s := range args {
		switch {
		case value:
			value = false
		case s == "--":
			return append(out, args[i:]...)
		case strings.HasPrefix(s, "--"):
			name, _, hasValue := strings.Cut(s[2:], "=")
			value = !hasValue && !isBool(name)
		case len(s) > 2 && s[0] == '-':
			name, _, hasValue := strings.Cut(s[1:], "=")
			if len(name) > 1 && (lookup(name) != nil || name == "help" || name == "version" && cmd == root) {
				fmt.Fprintf(a.stderr, "jagad: warning: %s is deprecated: write --%s\n", s[:len(name)+1], name)
				s = "-" + s
				value = !hasValue && !isBool(name)
			}
		case len(s) == 2 && s[0] == '-':
			f := cmd.Flags().ShorthandLookup(s[1:])
			if f == nil {
				f = cmd.InheritedFlags().ShorthandLookup(s[1:])
			}
			value = f != nil && f.NoOptDefVal == ""
		}
		out = append(out, s)
	}
	return out
}

// helpCommand is `jagad help [COMMAND]`: an unknown topic is a usage error.
func helpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "Help about any command",
		Long:  "Prints the help of COMMAND (the same as jagad COMMAND --help), or jagad's.",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 && cmd.HasSubCommands() {
				return usagef("unknown help topic %q", strings.Join(args, " "))
			}
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
	}
}

// versionCommand is `jagad version` (also `jagad --version`, `-v`).
func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the commit jagad was built from",
		Long:  "Prints the version and the commit jagad was built from (both set at build time, see the Makefile).",
		Args:  noArgs(""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(a.stdout, "jagad %s (commit %s)\n", version, commit)
			return err
		},
	}
}
