package api

import (
	"context"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/state"
)

// dbTimeout bounds connection tests and discovery.
const dbTimeout = 5 * time.Second

// DBClient reaches database servers for connection test and discover.
type DBClient interface {
	Ping(ctx context.Context, t dbclient.Target) error
	ListDatabases(ctx context.Context, t dbclient.Target) ([]dbclient.DBInfo, error)
}

// defaultDBClient is engine/dbclient.
type defaultDBClient struct{}

func (defaultDBClient) Ping(ctx context.Context, t dbclient.Target) error {
	return dbclient.Ping(ctx, t)
}

func (defaultDBClient) ListDatabases(ctx context.Context, t dbclient.Target) ([]dbclient.DBInfo, error) {
	return dbclient.ListDatabases(ctx, t)
}

func targetOf(c state.ConnectionSpec) dbclient.Target {
	return dbclient.Target{
		DBType: c.DBType, Host: c.Host, Port: c.Port, User: c.Username,
		Password: c.Password.Reveal(), SSLMode: c.SSLMode,
	}
}
