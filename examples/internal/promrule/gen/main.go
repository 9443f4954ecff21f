// Command gen writes examples/kubernetes/prometheusrule.yaml from
// examples/prometheus/alerts.yml: go run ./internal/promrule/gen IN OUT.
package main

import (
	"fmt"
	"os"

	"github.com/jagad/jagad/examples/internal/promrule"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen ALERTS.yml PROMETHEUSRULE.yaml")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	alerts, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	manifest, err := promrule.Render(alerts)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return os.WriteFile(out, manifest, 0o644)
}
