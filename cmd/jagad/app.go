package main

import "io"

// app is what every subcommand runs with: the process's streams and
// environment, passed in so that tests run commands in-process.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	env    func(string) (string, bool)

	hooks serveHooks // tests only: reach the daemon `jagad serve` starts
}

// getenv returns the variable's value, or "" when unset.
func (a *app) getenv(k string) string {
	v, _ := a.env(k)
	return v
}
