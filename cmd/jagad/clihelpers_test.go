package main

import (
	"io"

	"github.com/spf13/pflag"
)

// Helpers for tests written before the cobra tree: each runs one
// subcommand through run, as the binary does.

func runValidate(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	return run(append([]string{"validate"}, args...), stdin, stdout, stderr, env)
}

func runPlan(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	return run(append([]string{"plan"}, args...), stdin, stdout, stderr, env)
}

func runKeygen(args []string, stdout, stderr io.Writer) int {
	return run(append([]string{"keygen"}, args...), nil, stdout, stderr, noEnv)
}

func runDecrypt(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	return run(append([]string{"decrypt"}, args...), stdin, stdout, stderr, env)
}

// runServeHooks runs `jagad serve args` with test hooks.
func runServeHooks(args []string, stdout, stderr io.Writer, env func(string) (string, bool), hooks serveHooks) int {
	a := &app{stdout: stdout, stderr: stderr, env: env, hooks: hooks}
	return a.run(append([]string{"serve"}, args...))
}

// parseServeFlags reads serve's flags from args over env, as `jagad serve`
// does, without starting anything.
func parseServeFlags(args []string, _ io.Writer, env func(string) (string, bool)) (*serveConfig, error) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := addServeFlags(fs, env)
	if err := fs.Parse(args); err != nil {
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected arguments: %v", fs.Args())
	}
	return f.config(env)
}
