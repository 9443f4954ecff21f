package dump

import (
	"errors"
	"strings"
	"testing"
)

// TestBasePreflightErrOrder: the preflight's checks run at once, but the
// error reported is the one the checks, run one by one, would have
// stopped at: the tool, the server's version, the tool against the
// server, the replication connection, then the tablespaces.
func TestBasePreflightErrOrder(t *testing.T) {
	noTool, noConn, noRepl, noSpace := errors.New("no tool"), errors.New("no conn"), errors.New("no replication"), errors.New("no catalog")
	ok := basePre{tool: tool{version: "pg_basebackup (PostgreSQL) 16.4"}, serverVersion: "16.4", addr: "db:5432"}
	with := func(f func(*basePre)) basePre { p := ok; f(&p); return p }
	cases := []struct {
		name string
		pre  basePre
		want string
	}{
		{"all fail", with(func(p *basePre) { p.toolErr, p.versionErr, p.sysErr, p.spaceErr = noTool, noConn, noRepl, noSpace }), "no tool"},
		{"server unreachable", with(func(p *basePre) { p.versionErr, p.sysErr, p.spaceErr = noConn, noRepl, noSpace }), "no conn"},
		{"old tool", with(func(p *basePre) {
			p.tool.version, p.serverVersion, p.sysErr = "pg_basebackup (PostgreSQL) 15.2", "16.4", noRepl
		}), "is older than the PostgreSQL 16.4 server"},
		{"no replication", with(func(p *basePre) { p.sysErr, p.spaceErr = noRepl, noSpace }), "no replication"},
		{"catalog", with(func(p *basePre) { p.spaceErr = noSpace }), "no catalog"},
		{"tablespaces", with(func(p *basePre) { p.tablespaces = 2 }), "db:5432 has 2 tablespace(s)"},
	}
	for _, c := range cases {
		err := c.pre.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to name %q", c.name, err, c.want)
		}
	}
	if err := ok.err(); err != nil {
		t.Errorf("all checks passed: err = %v", err)
	}
}
