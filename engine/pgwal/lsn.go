package pgwal

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/jagad/jagad/engine/dbclient"
)

// Positions are the server's current WAL position and the restart
// position of a replication slot (0 when the slot does not exist).
type Positions struct {
	Current, SlotRestart uint64
}

// ServerPositions reads pg_current_wal_lsn() and the slot's restart_lsn.
func ServerPositions(ctx context.Context, t dbclient.Target, slot string) (Positions, error) {
	cfg, err := dbclient.PgConfig(t, t.Database)
	if err != nil {
		return Positions{}, err
	}
	conn, err := pgconn.ConnectConfig(ctx, &cfg.Config)
	if err != nil {
		return Positions{}, fmt.Errorf("connect: %s", dbclient.Scrub(err.Error(), t.Password))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	q := "SELECT pg_current_wal_lsn()::text, coalesce((SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = " +
		quoteLiteral(slot) + "), '0/0')"
	res, err := conn.Exec(ctx, q).ReadAll()
	if err != nil || len(res) != 1 || len(res[0].Rows) != 1 {
		return Positions{}, fmt.Errorf("read wal positions: %v", err)
	}
	row := res[0].Rows[0]
	var p Positions
	if p.Current, err = ParseLSN(string(row[0])); err != nil {
		return p, err
	}
	p.SlotRestart, err = ParseLSN(string(row[1]))
	return p, err
}

func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}
