package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/jagad/jagad/api/client"
)

// The pieces the daemon-client commands share: one call to the daemon,
// --json or a human answer, a `list` subcommand, a lookup by name or ID and
// the wait for a job's end.

// do runs fn with a client of the daemon and the command's context
// (cancelled by Ctrl-C).
func (r *remote) do(fn func(ctx context.Context, c *client.Client) error) error {
	c, err := r.client()
	if err != nil {
		return err
	}
	ctx, cancel := r.ctx()
	defer cancel()
	return fn(ctx, c)
}

// reply prints the daemon's answer with --json, else calls human.
func (r *remote) reply(raw json.RawMessage, human func() error) error {
	if r.json {
		return r.printJSON(raw)
	}
	return human()
}

// say prints the daemon's answer with --json, else the message.
func (r *remote) say(raw json.RawMessage, format string, a ...any) error {
	return r.reply(raw, func() error {
		fmt.Fprintf(r.stdout, format, a...)
		return nil
	})
}

// tell prints v as JSON with --json (an answer the CLI makes itself), else
// the message.
func (r *remote) tell(v any, format string, a ...any) error {
	if r.json {
		return r.encodeJSON(v)
	}
	fmt.Fprintf(r.stdout, format, a...)
	return nil
}

// lister is a method of the client that lists one kind of resource, as a
// method expression: (*client.Client).Schedules.
type lister[T any] func(*client.Client, context.Context) ([]T, json.RawMessage, error)

// listCmd is a `list` subcommand: the daemon's JSON answer with --json,
// else "No <none>." or the items as table prints them.
func listCmd[T any](r *remote, short, none string, list lister[T], table func(context.Context, *client.Client, []T) error) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: short,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.do(func(ctx context.Context, c *client.Client) error {
				all, raw, err := list(c, ctx)
				if err != nil {
					return err
				}
				return r.reply(raw, func() error {
					if len(all) == 0 {
						fmt.Fprintf(r.stdout, "No %s.\n", none)
						return nil
					}
					return table(ctx, c, all)
				})
			})
		},
	}
}

// onOne is a subcommand whose one argument names a resource (by name or
// ID): find looks it up, then act works on it.
func onOne[T any](r *remote, use, short string, find func(context.Context, *client.Client, string) (T, error), act func(context.Context, *client.Client, T) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.do(func(ctx context.Context, c *client.Client) error {
				x, err := find(ctx, c, args[0])
				if err != nil {
					return err
				}
				return act(ctx, c, x)
			})
		},
	}
}

// writeTable prints items as an aligned table under header, one row each.
func writeTable[T any](w io.Writer, items []T, header []string, row func(T) []string) error {
	t := newTable(w, header...)
	for _, x := range items {
		t.row(row(x)...)
	}
	return t.flush()
}

// pick lists resources and returns the first whose ID or name (as ids
// gives them) is key; notFound when there is none.
func pick[T any](ctx context.Context, c *client.Client, list lister[T], key string, ids func(T) (id, name string), notFound error) (T, error) {
	var zero T
	all, _, err := list(c, ctx)
	if err != nil {
		return zero, err
	}
	for _, x := range all {
		if id, name := ids(x); id == key || name == key {
			return x, nil
		}
	}
	return zero, notFound
}

// poll reads a job's record with get until done says the job has ended
// (or fails), pausing pollEvery between reads; it returns the last record
// and the daemon's answer.
func poll[T any](ctx context.Context, get func() (T, json.RawMessage, error), done func(T) (bool, error)) (T, json.RawMessage, error) {
	for {
		x, raw, err := get()
		if err != nil {
			return x, raw, err
		}
		if end, err := done(x); end || err != nil {
			return x, raw, err
		}
		if err := sleep(ctx, pollEvery); err != nil {
			return x, raw, err
		}
	}
}

// ended prints the end of a waited job: the daemon's answer with --json,
// else the message when it succeeded (ok); a job that did not succeed is
// the error fail.
func (r *remote) ended(raw json.RawMessage, ok bool, fail error, format string, a ...any) error {
	if r.json {
		if err := r.printJSON(raw); err != nil {
			return err
		}
	} else if ok {
		fmt.Fprintf(r.stdout, format, a...)
	}
	if !ok {
		return fail
	}
	return nil
}
