// Package examples holds the tests of the packaging examples (Dockerfile,
// compose, systemd, Kubernetes) in a module of its own, so that their
// Kubernetes and buildkit dependencies stay out of the daemon's go.mod.
package examples

//go:generate go run ./internal/promrule/gen prometheus/alerts.yml kubernetes/prometheusrule.yaml
