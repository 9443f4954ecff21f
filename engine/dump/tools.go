package dump

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
)

// Tools overrides the client tools' paths; an empty field means "look it up
// in PATH" (mariadb: mariadb-dump then mysqldump, mariadb then mysql; mysql:
// mysqldump then mariadb-dump, mysql then mariadb).
type Tools struct {
	PgDump    string
	PgRestore string
	Mysqldump string
	Mysql     string
	// MariadbBackup is mariadb-backup (physical backups; "" = PATH).
	MariadbBackup string
}

// tool is a resolved client tool.
type tool struct {
	name    string // display name: pg_dump, mariadb-dump, ...
	path    string
	version string // first line of --version
	mariadb bool   // a MariaDB build (option spellings differ from Oracle MySQL)
}

type role int

const (
	roleDump role = iota
	roleRestore
)

// resolve finds the dump or restore tool for dbType.
func (tl Tools) resolve(dbType string, r role) (string, error) {
	var override string
	var names []string
	switch {
	case dbType == dbclient.PostgreSQL && r == roleDump:
		override, names = tl.PgDump, []string{"pg_dump"}
	case dbType == dbclient.PostgreSQL:
		override, names = tl.PgRestore, []string{"pg_restore"}
	case dbType == dbclient.MariaDB && r == roleDump:
		override, names = tl.Mysqldump, []string{"mariadb-dump", "mysqldump"}
	case dbType == dbclient.MariaDB:
		override, names = tl.Mysql, []string{"mariadb", "mysql"}
	case dbType == dbclient.MySQL && r == roleDump:
		override, names = tl.Mysqldump, []string{"mysqldump", "mariadb-dump"}
	case dbType == dbclient.MySQL:
		override, names = tl.Mysql, []string{"mysql", "mariadb"}
	default:
		return "", fmt.Errorf("unsupported database type: %q", dbType)
	}
	if override != "" {
		return checkExecutable(override)
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return unwrapPg(p), nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH; install the %s client tools or set its path", strings.Join(names, " or "), dbType)
}

// checkExecutable accepts a path (must be an executable regular file) or a
// bare name looked up in PATH.
func checkExecutable(p string) (string, error) {
	if !strings.ContainsRune(p, '/') {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("tool %q not found in PATH", p)
		}
		return found, nil
	}
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("tool %q not found: %w", p, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("tool %q is not an executable file", p)
	}
	return p, nil
}

// probe resolves the tool and reads its version.
func (tl Tools) probe(ctx context.Context, dbType string, r role) (tool, error) {
	path, err := tl.resolve(dbType, r)
	if err != nil {
		return tool{}, err
	}
	t := tool{name: baseName(path), path: path}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Env = childEnv(false)
	// A wrapper script whose child keeps stdout open must not hold the
	// backup up past the tool's exit (or the timeout) for as long as that
	// child lives.
	cmd.WaitDelay = waitDelay
	out, err := cmd.Output()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // the tool exited 0; only the stray child's pipe was cut
	}
	if err != nil {
		return tool{}, fmt.Errorf("%s --version: %w", t.name, err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	t.version = strings.TrimSpace(line)
	t.mariadb = strings.Contains(string(out), "MariaDB")
	return t, nil
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

var (
	pgToolVersion = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?`)
	leadingNumber = regexp.MustCompile(`^(\d+)(?:\.(\d+))?`)
)

// pgMajor returns the major version of "15.19" / "9.6.24" / a pg_dump
// --version line as major*100 + minor for versions before 10 (9.6 → 906,
// 15 → 1500), so 9.x sorts below 10+.
func pgMajor(v string) (int, bool) {
	m := pgToolVersion.FindStringSubmatch(v)
	if m == nil {
		m = leadingNumber.FindStringSubmatch(strings.TrimSpace(v))
	}
	if m == nil {
		return 0, false
	}
	major, _ := strconv.Atoi(m[1])
	if major >= 10 {
		return major * 100, true
	}
	minor, _ := strconv.Atoi(m[2])
	return major*100 + minor, true
}
