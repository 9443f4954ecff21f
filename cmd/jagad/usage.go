package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes shared by every subcommand. `jagad plan` is the exception: its
// 2 means "changes", so its usage errors exit 1 (see planCommand and
// usageExitAnnotation).
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

// exitStatus ends a command with this exit code after the command has said
// why itself (validate's diagnostics, plan's "changes"): nothing more is
// printed.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// usageExitAnnotation, in a command's Annotations, is the exit code of its
// usage errors when it is not exitUsage ("1" for `jagad plan`).
const usageExitAnnotation = "jagad:usage-exit"

// noArgs refuses positional arguments; hint, when set, follows the message.
func noArgs(hint string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		if hint != "" {
			return usagef("unexpected argument %q (%s)", args[0], hint)
		}
		return usagef("unexpected argument %q", args[0])
	}
}

// groupRunE is the run of a command that only groups subcommands: without
// one, or with an unknown one, the command line is a usage error.
func groupRunE(cmd *cobra.Command, args []string) error {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	use := strings.Join(names, ", ")
	if len(names) == 2 {
		use = names[0] + " or " + names[1]
	}
	if len(args) == 0 {
		return usagef("missing subcommand: %s", use)
	}
	return usagef("unknown subcommand %q: use %s", args[0], use)
}

// finishTree makes every command below root report its command-line errors
// as usage errors (exit 2): wrong positional arguments, required flags not
// set, conflicting flags; and gives the commands that only group others
// (catalog, admin, completion, the daemon-client groups) a run that refuses
// a missing or unknown subcommand instead of printing help and exiting 0.
// Root itself is left to cobra, whose "unknown command" error run reports
// as a usage error.
func finishTree(c *cobra.Command) {
	for _, sub := range c.Commands() {
		finishTree(sub)
	}
	if !c.HasParent() {
		return
	}
	if c.HasSubCommands() && !c.Runnable() {
		c.Args, c.RunE = cobra.ArbitraryArgs, groupRunE
	}
	check := c.Args
	if check == nil {
		check = cobra.ArbitraryArgs
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		for _, err := range []error{check(cmd, args), cmd.ValidateRequiredFlags(), cmd.ValidateFlagGroups()} {
			if err != nil {
				return usageError{err}
			}
		}
		return nil
	}
}
