package main

import (
	"fmt"
	"io"
)

// runRestore is the disaster-recovery restore (no daemon, no data dir).
func runRestore(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	fmt.Fprintln(stderr, "jagad restore: not available in this build yet")
	return 1
}

// runCatalog rebuilds backup records from the manifests in storage.
func runCatalog(args []string, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	fmt.Fprintln(stderr, "jagad catalog: not available in this build yet")
	return 1
}
