package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// connectionView is a connection as the API shows it: never the password.
type connectionView struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	DBType    string          `json:"db_type"`
	Host      string          `json:"host"`
	Port      int             `json:"port"`
	Username  string          `json:"username"`
	SSLMode   string          `json:"ssl_mode"`
	ManagedBy state.ManagedBy `json:"managed_by"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`

	Physical *state.PhysicalSpec `json:"physical,omitempty"` // mysql/mariadb physical backups

	BinlogArchive *state.BinlogArchiveSpec `json:"binlog_archive,omitempty"` // mysql/mariadb binary log archive

	WalArchive *state.WalArchive `json:"wal_archive,omitempty"` // postgresql continuous WAL archiving (a provider name, no secret)
}

func viewConnection(c state.Connection) connectionView {
	return connectionView{
		ID: c.ID, Name: c.Name, DBType: c.DBType, Host: c.Host, Port: c.Port, Username: c.Username,
		SSLMode: c.SSLMode, Physical: c.Physical, ManagedBy: c.ManagedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		BinlogArchive: c.BinlogArchive, WalArchive: c.WalArchive,
	}
}

// connectionInput is the body of create, update and test. Absent fields keep
// their stored value on update; read-only fields are accepted and ignored so
// that a GET body can be sent back.
type connectionInput struct {
	Name     *string `json:"name"`
	DBType   *string `json:"db_type"`
	Host     *string `json:"host"`
	Port     *int    `json:"port"`
	Username *string `json:"username"`
	Password *string `json:"password"` // empty or masked: keep the stored one
	SSLMode  *string `json:"ssl_mode"`
	// Physical: absent keeps the stored value; {} or {"datadir": ...} sets it.
	Physical *state.PhysicalSpec `json:"physical"`
	// BinlogArchive: absent keeps the stored value; {"enabled": false} turns it off.
	BinlogArchive *state.BinlogArchiveSpec `json:"binlog_archive"`
	// WalArchive: absent keeps the stored value; {"enabled": false} turns it off.
	WalArchive *state.WalArchive `json:"wal_archive"`
	readOnly
}

// readOnly lists the response-only fields a client may echo back.
type readOnly struct {
	ID        json.RawMessage `json:"id"`
	ManagedBy json.RawMessage `json:"managed_by"`
	CreatedAt json.RawMessage `json:"created_at"`
	UpdatedAt json.RawMessage `json:"updated_at"`
}

// any reports a field of the connection set in the body.
func (in connectionInput) any() bool {
	return in.Name != nil || in.DBType != nil || in.Host != nil || in.Port != nil || in.Username != nil ||
		in.Password != nil || in.SSLMode != nil || in.Physical != nil ||
		in.BinlogArchive != nil || in.WalArchive != nil
}

func (in connectionInput) apply(c *state.ConnectionSpec) {
	setStr(&c.Name, in.Name)
	setStr(&c.DBType, in.DBType)
	setStr(&c.Host, in.Host)
	setInt(&c.Port, in.Port)
	setStr(&c.Username, in.Username)
	setStr(&c.SSLMode, in.SSLMode)
	if in.Physical != nil {
		c.Physical = in.Physical
	}
	if in.BinlogArchive != nil {
		c.BinlogArchive = in.BinlogArchive
	}
	if in.WalArchive != nil {
		c.WalArchive = in.WalArchive
	}
	if in.Password != nil && *in.Password != "" && *in.Password != mask {
		c.Password = state.Secret(*in.Password)
	}
}

// validateConnection fills defaults (port, ssl_mode) and checks c with the
// file's rules. skipName is for test-before-save.
func validateConnection(c *state.ConnectionSpec, skipName bool) error {
	fc := config.Connection{Name: c.Name, DBType: c.DBType, Host: c.Host, Port: c.Port,
		Username: c.Username, Password: c.Password.Reveal(), SSLMode: c.SSLMode}
	if c.Physical != nil {
		fc.Physical = &config.Physical{Datadir: c.Physical.Datadir}
	}
	if a := c.BinlogArchive; a != nil {
		fc.BinlogArchive = &config.BinlogArchive{Enabled: a.Enabled, Storage: a.Storage}
	}
	fc.SetDefaults()
	c.Port, c.SSLMode = fc.Port, fc.SSLMode
	errs := config.ValidateConnection(fc)
	errs = append(errs, walArchiveErrors(*c)...) // chains.go
	if skipName {
		errs = slices.DeleteFunc(errs, func(e config.FieldError) bool { return e.Field == "name" })
	}
	return fieldErrors(errs, nil)
}

func (s *server) listConnections(r *http.Request, _ httprouter.Params) (any, error) {
	return listViews(s, r, connections, viewConnection)
}

func (s *server) getConnection(_ *http.Request, p httprouter.Params) (any, error) {
	c, err := connections.get(s, p.ByName("id"))
	if err != nil {
		return nil, err
	}
	return viewConnection(c), nil
}

// createConnection stores a connection without test-connecting first:
// GitOps users declare connections before their servers exist. Use
// POST /api/connections/{id}/test to check one.
func (s *server) createConnection(r *http.Request, _ httprouter.Params) (any, error) {
	var in connectionInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	var spec state.ConnectionSpec
	in.apply(&spec)
	if err := validateConnection(&spec, false); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	c := state.Connection{Meta: apiMeta(state.KindConnection, now), ConnectionSpec: spec}
	if err := connections.create(s, &c, func(tx *state.Tx, c *state.Connection) error { return walStorageExists(tx, c.ConnectionSpec) }); err != nil {
		return nil, err
	}
	return created(viewConnection(c)), nil
}

func apiMeta(k state.Kind, now time.Time) state.Meta {
	return state.Meta{ID: state.NewID(k), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now}
}

func (s *server) updateConnection(r *http.Request, p httprouter.Params) (any, error) {
	var in connectionInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	c, err := connections.update(s, p.ByName("id"), func(tx *state.Tx, c *state.Connection) error {
		in.apply(&c.ConnectionSpec)
		if err := validateConnection(&c.ConnectionSpec, false); err != nil {
			return err
		}
		return walStorageExists(tx, c.ConnectionSpec)
	})
	if err != nil {
		return nil, err
	}
	return viewConnection(c), nil
}

// deleteConnection removes an API-made connection and its database records.
// A connection a schedule still uses cannot be deleted (409). Backups keep
// their snapshot of names and stay.
func (s *server) deleteConnection(_ *http.Request, p httprouter.Params) (any, error) {
	err := connections.remove(s, p.ByName("id"), func(tx *state.Tx, c state.Connection) error {
		dbs, err := connectionDatabases(tx, c.ID)
		if err != nil {
			return err
		}
		for _, d := range dbs {
			if err := state.Delete[state.Database](tx, d.ID); err != nil {
				return fmt.Errorf("delete database %s: %w", d.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return noContent, nil
}

// notUsedBySchedule answers 409 when a schedule matches uses.
func notUsedBySchedule(tx *state.Tx, what, name string, uses func(state.Schedule) bool) error {
	all, err := state.List[state.Schedule](tx)
	if err != nil {
		return fmt.Errorf("list schedules: %w", err)
	}
	for _, sc := range all {
		if uses(sc) {
			return fault.Conflict(fmt.Sprintf("%s %q is used by schedule %q; change or delete the schedule first", what, name, sc.Name))
		}
	}
	return nil
}

type testResult struct {
	Success bool   `json:"success"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

// testConnection pings the server of a stored connection, or of the body's
// connection when the id is "_new". A stored connection's test may carry a
// body too: its fields replace the stored ones for this test only (nothing
// is written), as an update would, so an edit form can test before it
// saves without sending the stored password back. 200 with success false on
// failure.
func (s *server) testConnection(r *http.Request, p httprouter.Params) (any, error) {
	var spec state.ConnectionSpec
	var in connectionInput
	if id := p.ByName("id"); id == "_new" {
		if err := decode(r, &in); err != nil {
			return nil, err
		}
	} else {
		if err := decodeOptional(r, &in); err != nil {
			return nil, err
		}
		err := s.store.View(func(tx *state.Tx) error {
			c, err := getRec[state.Connection](tx, id, wordConnection)
			spec = c.ConnectionSpec
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if p.ByName("id") == "_new" || in.any() {
		in.apply(&spec)
		if err := validateConnection(&spec, true); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), dbTimeout)
	defer cancel()
	if err := s.db.Ping(ctx, targetOf(spec)); err != nil {
		return testResult{Error: scrub(err.Error(), spec.Password.Reveal())}, nil
	}
	return testResult{Success: true}, nil
}

// scrub removes secrets from a message shown to clients or logs.
func scrub(msg string, secrets ...string) string {
	for _, sec := range secrets {
		msg = dbclient.Scrub(msg, sec)
	}
	return msg
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
