package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jagad/jagad/api"
	"github.com/jagad/jagad/api/client"
)

const planLong = `Sends a jagad.yaml to a running daemon and prints what applying it would
change; nothing is applied.

Environment: JAGAD_URL (default http://127.0.0.1:8080); JAGAD_TOKEN, or
JAGAD_USER and JAGAD_PASSWORD to log in (the session is logged out after).

Settings read only when the daemon starts (the cluster: section) are not
applied by a reload: a change to them is listed as "! needs restart: ..."
and counts as a change.

Exit status: 0 no change, 2 changes, 1 error (usage errors included: 2 means
"changes" here).`

// maxPlanFile bounds the document `jagad plan` sends.
const maxPlanFile = 1 << 20

// Exit codes of `jagad plan`: 2 means changes, so usage errors exit 1.
const (
	planNoChange = 0
	planError    = 1
	planChanges  = 2
)

// planCommand is `jagad plan -f FILE`: it sends FILE ("-" is stdin) to the
// daemon at $JAGAD_URL and prints the plan, one line per change. Auth:
// $JAGAD_TOKEN, or a login with $JAGAD_USER and $JAGAD_PASSWORD (that
// session is logged out afterwards). Exit 0: no change, 2: changes, 1: error
// (usage errors too: usageExitAnnotation).
func (a *app) planCommand() *cobra.Command {
	var file string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:         "plan [-f FILE|-] [--timeout D]",
		Short:       "Show what a jagad.yaml would change in a running daemon",
		Long:        planLong,
		GroupID:     groupClient,
		Annotations: map[string]string{usageExitAnnotation: "1"},
		Args:        noArgs(""),
		RunE: func(*cobra.Command, []string) error {
			return a.plan(file, timeout)
		},
	}
	cmd.Flags().StringVarP(&file, "config", "f", "jagad.yaml", "the `FILE` to plan; - reads standard input")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "request timeout")
	return cmd
}

func (a *app) plan(file string, timeout time.Duration) error {
	doc, err := readDoc(file, a.stdin)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := client.New(envOr(a.env, "JAGAD_URL", ""), envOr(a.env, "JAGAD_TOKEN", ""), envOr(a.env, "JAGAD_USER", ""),
		envOr(a.env, "JAGAD_PASSWORD", ""))
	plan, err := c.Plan(ctx, doc)
	if err != nil {
		return errors.New(nameDiagnostics(err.Error(), displayName(file)))
	}
	printPlan(a.stdout, plan)
	if plan.Changes == 0 && len(plan.NeedsRestart) == 0 {
		return nil
	}
	return exitStatus(planChanges)
}

// postedName is the name the daemon gives a posted document in its
// diagnostics (reconcile.PostedName): "jagad.yaml:LINE:COL: message".
const postedName = "jagad.yaml"

// displayName is how `jagad plan` names the file it sent.
func displayName(file string) string {
	if file == "-" {
		return stdinName
	}
	return file
}

// nameDiagnostics puts the user's file name in place of the daemon's name
// for the posted document at the start of each line of msg.
func nameDiagnostics(msg, name string) string {
	lines := strings.Split(msg, "\n")
	for i, line := range lines {
		rest, ok := strings.CutPrefix(line, postedName+":")
		if ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			lines[i] = name + ":" + rest
		}
	}
	return strings.Join(lines, "\n")
}

func readDoc(name string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPlanFile+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(b) > maxPlanFile {
		return nil, fmt.Errorf("config file is larger than %d bytes", maxPlanFile)
	}
	return b, nil
}

var actionSigns = map[string]string{"create": "+", "update": "~", "prune": "-", "delete": "-", "adopt": "="}

func printPlan(w io.Writer, p api.PlanView) {
	for _, it := range p.Items {
		sign, ok := actionSigns[string(it.Action)]
		if !ok {
			continue // unchanged and unknown entries are not changes
		}
		line := fmt.Sprintf("%s %s %s %q", sign, it.Action, it.Kind, it.Name)
		if len(it.Fields) > 0 {
			line += " (fields: " + strings.Join(it.Fields, ", ") + ")"
		}
		if it.Cascade != "" {
			line += " (with " + it.Cascade + ")"
		}
		fmt.Fprintln(w, line)
	}
	if p.Held != "" {
		fmt.Fprintf(w, "! held: %s (apply with POST /api/config/reload?confirm_prune=true)\n", p.Held)
	}
	for _, n := range p.NeedsRestart {
		fmt.Fprintf(w, "! needs restart: %s (a reload applies the rest)\n", n)
	}
	switch {
	case p.Summary != "":
		fmt.Fprintln(w, p.Summary)
	case p.Changes == 0:
		fmt.Fprintln(w, "No changes.")
	default:
		fmt.Fprintf(w, "%d change(s).\n", p.Changes)
	}
}
