package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const promDir = "../../examples/prometheus"

// promtool returns the path of promtool. Missing, the test fails under
// CI=true and is skipped otherwise (.ci/services.sh installs it).
func promtool(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("promtool is not installed (CI=true): %v", err)
		}
		tb.Skipf("promtool is not installed: %v", err)
	}
	return p
}

// runPromtool runs promtool with stdin and fails the test on a non-zero exit.
func runPromtool(tb testing.TB, stdin []byte, args ...string) string {
	tb.Helper()
	cmd := exec.Command(promtool(tb), args...)
	cmd.Dir = promDir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPromtoolRules(t *testing.T) {
	runPromtool(t, nil, "check", "rules", "alerts.yml")
	runPromtool(t, nil, "check", "config", "prometheus.yml")
	runPromtool(t, nil, "test", "rules", "alerts_test.yml")
}

// TestAlertTestsCoverEveryAlert checks that alerts_test.yml has, for every
// alert of alerts.yml, a case where it fires and a case where it is quiet.
func TestAlertTestsCoverEveryAlert(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, filepath.Join(promDir, "alerts.yml"), &rules)
	readYAML(t, filepath.Join(promDir, "alerts_test.yml"), &tests)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	names := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				names[r.Alert] = true
			}
		}
	}
	want := []string{"JagadBackupFailed", "JagadBackupTooOld", "JagadConfigReloadFailed", "JagadBackupsStuck",
		"JagadNotificationFailures", "JagadVerificationFailed", "JagadRestoreDrillFailed"}
	for _, n := range want {
		if !names[n] {
			t.Errorf("alerts.yml has no alert %s", n)
		}
	}
	for n := range names {
		if !fires[n] {
			t.Errorf("alerts_test.yml has no case where %s fires", n)
		}
		if !quiet[n] {
			t.Errorf("alerts_test.yml has no case where %s stays quiet", n)
		}
	}
}

func readYAML(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}

// checkMetrics runs promtool check metrics on a scrape.
func checkMetrics(tb testing.TB, scrape []byte) {
	tb.Helper()
	runPromtool(tb, scrape, "check", "metrics")
}

var jagadName = regexp.MustCompile(`\bjagad_[a-z_]+[a-z]\b`)

// referencedMetrics returns the jagad_* metric names that the example
// alerts and the Grafana dashboard use.
func referencedMetrics(tb testing.TB) []string {
	tb.Helper()
	seen := map[string]bool{}
	for _, f := range []string{filepath.Join(promDir, "alerts.yml"), "../../examples/grafana/jagad.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range jagadName.FindAllString(string(b), -1) {
			seen[m] = true
		}
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}
