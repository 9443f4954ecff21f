package dump

import (
	"context"
	"fmt"
	"io"

	"github.com/jagad/jagad/engine/dbclient"
)

// Continuous WAL archiving runs pg_receivewal, which the engine supervises
// (engine/pgwal): these run it with the connection's credentials handled as
// for every other tool (a PGPASSFILE, secrets scrubbed from stderr, its own
// process group killed on cancellation).

// CreateSlot creates the physical replication slot when it does not exist
// (pg_receivewal --create-slot --if-not-exists: it reserves WAL at once).
func CreateSlot(ctx context.Context, t dbclient.Target, tools Tools, slot string, log io.Writer) error {
	return receiveWAL(ctx, t, tools, log, "--create-slot", "--if-not-exists", "--slot="+slot)
}

// DropSlot drops the replication slot.
func DropSlot(ctx context.Context, t dbclient.Target, tools Tools, slot string, log io.Writer) error {
	return receiveWAL(ctx, t, tools, log, "--drop-slot", "--slot="+slot)
}

// ReceiveWAL streams WAL into dir on slot until ctx ends or the connection
// breaks (--no-loop: the caller restarts it with backoff). Completed
// segments appear in dir under their WAL file names; the segment being
// written carries the suffix .partial.
func ReceiveWAL(ctx context.Context, t dbclient.Target, tools Tools, slot, dir string, log io.Writer) error {
	return receiveWAL(ctx, t, tools, log, "--directory="+dir, "--slot="+slot, "--no-loop", "--verbose")
}

func receiveWAL(ctx context.Context, t dbclient.Target, tools Tools, log io.Writer, args ...string) error {
	tl, err := pgTool(ctx, tools, "pg_receivewal")
	if err != nil {
		return err
	}
	cmd, err := pgCommand(t, args)
	if err != nil {
		return err
	}
	defer cmd.cleanup()
	if err := run(ctx, spec{tool: tl, args: cmd.args, env: cmd.env, secret: t.Password, log: log, dieWithParent: true}); err != nil {
		return fmt.Errorf("%s", scrub(err.Error(), secretForms(t.Password)))
	}
	return nil
}
