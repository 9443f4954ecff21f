package dump

import (
	"context"

	"github.com/jagad/jagad/engine/dbclient"
)

// rowCounts is a count of a database's rows running in the background,
// beside the copy: a COUNT(*) of every table scans the whole database, and
// one after the other the two took both their times (BenchmarkMariaPhysical,
// BenchmarkPhysicalBackup, engine/bench/run.sh).
type rowCounts struct {
	stop   context.CancelFunc
	done   chan struct{}
	counts map[string]int64
	err    error
}

// countBeside starts counting the rows of every table of t.Database (none
// when it is "").
func countBeside(ctx context.Context, t dbclient.Target) *rowCounts {
	if t.Database == "" {
		return startCount(ctx, nil)
	}
	return startCount(ctx, func(ctx context.Context) (map[string]int64, error) {
		return dbclient.TableCounts(ctx, t, t.Database)
	})
}

// startCount runs count in the background (nothing when it is nil).
func startCount(ctx context.Context, count func(context.Context) (map[string]int64, error)) *rowCounts {
	cctx, stop := context.WithCancel(ctx)
	rc := &rowCounts{stop: stop, done: make(chan struct{})}
	if count == nil {
		close(rc.done)
		return rc
	}
	go func() {
		defer close(rc.done)
		rc.counts, rc.err = count(cctx)
	}()
	return rc
}

// wait returns the counts once they are done.
func (rc *rowCounts) wait() (map[string]int64, error) {
	<-rc.done
	rc.stop()
	return rc.counts, rc.err
}

// cancel stops the count and waits for it to return.
func (rc *rowCounts) cancel() {
	rc.stop()
	<-rc.done
}
