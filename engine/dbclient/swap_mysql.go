package dbclient

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MySQL and MariaDB cannot rename a database. swapMySQL moves the restored
// tables from the temporary schema into the target with one RENAME TABLE
// statement, which is atomic: the same statement moves the target's own
// tables and views out of the way, to names with oldTablePrefix inside the
// target (a view cannot change schema, nor can a table with triggers, so
// they stay in the target schema). Before that statement nothing of the
// target has changed; after it the target holds the restored tables.
//
// What cannot be renamed across schemas is re-created in the target after
// the swap from the temporary schema's definitions (SHOW CREATE): views,
// triggers (dropped from the temporary tables before they move), stored
// procedures and functions, and events; the target's old routines and events
// are dropped. These steps are not atomic with the table swap: a crash in
// the moment between them leaves the restored tables in place with some of
// the dump's views, triggers, routines or events missing, and old-named
// tables that DropSwapLeftovers removes.

// dbObject is a table or view in a schema.
type dbObject struct {
	name string
	view bool
}

func listObjects(ctx context.Context, db querier, schema string) ([]dbObject, error) {
	rows, err := db.QueryContext(ctx, `SELECT table_name, table_type FROM information_schema.tables
		WHERE table_schema = ? ORDER BY table_name`, schema)
	if err != nil {
		return nil, fmt.Errorf("list tables of %q: %w", schema, err)
	}
	defer rows.Close()
	var out []dbObject
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		out = append(out, dbObject{name: name, view: typ == "VIEW"})
	}
	return out, rows.Err()
}

func dropObject(ctx context.Context, db execer, schema string, o dbObject) error {
	kind := "TABLE"
	if o.view {
		kind = "VIEW"
	}
	q := "DROP " + kind + " IF EXISTS " + QuoteIdent(MySQL, schema) + "." + QuoteIdent(MySQL, o.name)
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("drop %s %s.%s: %w", strings.ToLower(kind), schema, o.name, err)
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// definition is one object re-created by SQL after the swap.
type definition struct {
	kind, name, sqlMode, create string
}

func swapMySQL(ctx context.Context, t Target, target, tmp, tag string) error {
	return withDB(ctx, t, "", func(db *sql.DB) error {
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+QuoteIdent(MySQL, target)+" CHARACTER SET utf8mb4"); err != nil {
			return err
		}
		// SHOW CREATE VIEW qualifies the tables of another schema than
		// the current one: read the definitions from within tmp.
		if _, err := conn.ExecContext(ctx, "USE "+QuoteIdent(MySQL, tmp)); err != nil {
			return err
		}
		defs, err := definitions(ctx, conn, tmp)
		if err != nil {
			return err
		}
		// Tables with triggers cannot move to another schema; the
		// triggers are re-created on the target below.
		for _, d := range defs {
			if d.kind == "TRIGGER" {
				if _, err := conn.ExecContext(ctx, "DROP TRIGGER "+QuoteIdent(MySQL, tmp)+"."+QuoteIdent(MySQL, d.name)); err != nil {
					return fmt.Errorf("drop trigger %s of the temporary schema: %w", d.name, err)
				}
			}
		}
		newObjs, err := listObjects(ctx, conn, tmp)
		if err != nil {
			return err
		}
		oldObjs, err := listObjects(ctx, conn, target)
		if err != nil {
			return err
		}
		oldRoutines, err := routinesAndEvents(ctx, conn, target)
		if err != nil {
			return err
		}
		renamed, err := renameTables(ctx, conn, target, tmp, tag, oldObjs, newObjs)
		if err != nil {
			return err
		}
		return finishMySQLSwap(ctx, conn, target, tmp, defs, renamed, oldRoutines)
	})
}

// renameTables is the atomic step: the target's tables and views get old
// names in the target, the temporary schema's tables move into the target.
func renameTables(ctx context.Context, conn *sql.Conn, target, tmp, tag string, oldObjs, newObjs []dbObject) ([]dbObject, error) {
	q := func(s, n string) string { return QuoteIdent(MySQL, s) + "." + QuoteIdent(MySQL, n) }
	var pairs []string
	var renamed []dbObject
	for i, o := range oldObjs {
		if strings.HasPrefix(o.name, "__jagad_old_") {
			continue // left by an earlier swap; DropSwapLeftovers removes it
		}
		to := oldTablePrefix(tag) + strconv.Itoa(i)
		pairs = append(pairs, q(target, o.name)+" TO "+q(target, to))
		renamed = append(renamed, dbObject{name: to, view: o.view})
	}
	for _, o := range newObjs {
		if !o.view {
			pairs = append(pairs, q(tmp, o.name)+" TO "+q(target, o.name))
		}
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	if _, err := conn.ExecContext(ctx, "RENAME TABLE "+strings.Join(pairs, ", ")); err != nil {
		return nil, fmt.Errorf("rename tables: %w", err)
	}
	return renamed, nil
}

// finishMySQLSwap drops the target's old tables, views, routines and events,
// creates the dump's views, routines, events and triggers, and drops the
// temporary schema.
func finishMySQLSwap(ctx context.Context, conn *sql.Conn, target, tmp string, defs []definition, renamed []dbObject, oldRoutines []definition) error {
	if _, err := conn.ExecContext(ctx, "USE "+QuoteIdent(MySQL, target)); err != nil {
		return err
	}
	for _, o := range renamed {
		if o.view {
			if err := dropObject(ctx, conn, target, o); err != nil {
				return err
			}
		}
	}
	for _, d := range oldRoutines {
		if _, err := conn.ExecContext(ctx, "DROP "+d.kind+" IF EXISTS "+QuoteIdent(MySQL, d.name)); err != nil {
			return fmt.Errorf("drop old %s %s: %w", strings.ToLower(d.kind), d.name, err)
		}
	}
	// The old tables go first: their triggers hold the names of the
	// dump's triggers.
	if _, err := conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 0"); err != nil {
		return err
	}
	for _, o := range renamed {
		if !o.view {
			if err := dropObject(ctx, conn, target, o); err != nil {
				return err
			}
		}
	}
	if err := createDefinitions(ctx, conn, defs); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+QuoteIdent(MySQL, tmp)); err != nil {
		return fmt.Errorf("drop temporary schema: %w", err)
	}
	return nil
}

// createDefinitions runs the CREATE statements in the target (the
// connection's current schema). A view can depend on another view: views
// that fail are retried as long as each round creates at least one.
func createDefinitions(ctx context.Context, conn *sql.Conn, defs []definition) error {
	pending := defs
	for len(pending) > 0 {
		var failed []definition
		var lastErr error
		for _, d := range pending {
			if _, err := conn.ExecContext(ctx, "SET SESSION sql_mode = ?", d.sqlMode); err != nil {
				return err
			}
			if _, err := conn.ExecContext(ctx, d.create); err != nil {
				failed, lastErr = append(failed, d), fmt.Errorf("create %s %s: %w", strings.ToLower(d.kind), d.name, err)
			}
		}
		if len(failed) == len(pending) {
			return lastErr
		}
		pending = failed
	}
	return nil
}

// definitions reads the CREATE statements of the views, triggers, routines
// and events of schema.
func definitions(ctx context.Context, db querier, schema string) ([]definition, error) {
	var out []definition
	views, err := queryStrings(ctx, db, `SELECT table_name FROM information_schema.views WHERE table_schema = ? ORDER BY table_name`, schema)
	if err != nil {
		return nil, fmt.Errorf("list views: %w", err)
	}
	for _, v := range views {
		out = append(out, definition{kind: "VIEW", name: v})
	}
	rest, err := routinesAndEvents(ctx, db, schema)
	if err != nil {
		return nil, err
	}
	out = append(out, rest...)
	triggers, err := queryStrings(ctx, db, `SELECT trigger_name FROM information_schema.triggers
		WHERE trigger_schema = ? ORDER BY event_object_table, action_order`, schema)
	if err != nil {
		return nil, fmt.Errorf("list triggers: %w", err)
	}
	for _, tr := range triggers {
		out = append(out, definition{kind: "TRIGGER", name: tr})
	}
	for i := range out {
		if err := showCreate(ctx, db, schema, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// routinesAndEvents lists the procedures, functions and events of schema
// (names and kinds only).
func routinesAndEvents(ctx context.Context, db querier, schema string) ([]definition, error) {
	rows, err := db.QueryContext(ctx, `SELECT routine_type, routine_name FROM information_schema.routines WHERE routine_schema = ?
		UNION ALL SELECT 'EVENT', event_name FROM information_schema.events WHERE event_schema = ?`, schema, schema)
	if err != nil {
		return nil, fmt.Errorf("list routines and events of %q: %w", schema, err)
	}
	defer rows.Close()
	var out []definition
	for rows.Next() {
		var d definition
		if err := rows.Scan(&d.kind, &d.name); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// showCreate fills d's CREATE statement and sql_mode from SHOW CREATE.
func showCreate(ctx context.Context, db querier, schema string, d *definition) error {
	rows, err := db.QueryContext(ctx, "SHOW CREATE "+d.kind+" "+QuoteIdent(MySQL, schema)+"."+QuoteIdent(MySQL, d.name))
	if err != nil {
		return fmt.Errorf("show create %s %s: %w", strings.ToLower(d.kind), d.name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	if !rows.Next() {
		return fmt.Errorf("show create %s %s: no row", strings.ToLower(d.kind), d.name)
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return err
	}
	for i, c := range cols {
		switch strings.ToLower(c) {
		case "sql_mode":
			d.sqlMode = vals[i].String
		case "create view", "create procedure", "create function", "create event", "sql original statement":
			d.create = vals[i].String
		}
	}
	if d.create == "" {
		return errors.New("show create " + strings.ToLower(d.kind) + " " + d.name + ": no definition (missing privileges?)")
	}
	return rows.Err()
}
