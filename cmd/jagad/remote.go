package main

import "github.com/spf13/cobra"

// remoteCommands are the subcommands that talk to a running daemon over its
// API (status, backups, schedules, restores, connections, config, tokens,
// login).
func (a *app) remoteCommands() []*cobra.Command { return nil }
