package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// app is what every subcommand runs with: the process's streams and
// environment, passed in so that tests run commands in-process.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	env    func(string) (string, bool)
}

// getenv returns the variable's value, or "" when unset.
func (a *app) getenv(k string) string {
	v, _ := a.env(k)
	return v
}

// runRemote runs one of the daemon-client commands (remote.go) when name is
// one of them. It reports false for any other name.
//
// Bridge: the cobra root that hosts every subcommand replaces this.
func runRemote(a *app, name string, args []string) (int, bool) {
	root := &cobra.Command{Use: "jagad", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(a.remoteCommands()...)
	found := false
	for _, c := range root.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			found = true
		}
	}
	if !found {
		return 0, false
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetArgs(append([]string{name}, args...))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	err := root.Execute()
	if err == nil {
		return exitOK, true
	}
	fmt.Fprintf(a.stderr, "jagad %s: %v\n", name, err)
	var u usageError
	if errors.As(err, &u) {
		return exitUsage, true
	}
	return exitFailure, true
}
