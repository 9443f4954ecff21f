// Command jagad is the Jagad backup daemon, its offline tools and its
// client. root.go builds the command tree; each subcommand has its file.
package main

import "os"

// Set by -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv))
}
