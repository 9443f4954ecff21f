package dump

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jagad/jagad/engine/dbclient"
)

// command is one tool invocation: argv, environment and the private
// credentials directory to remove afterwards.
type command struct {
	args    []string
	env     []string
	credDir string
}

// cleanup removes the credentials; safe to call more than once.
func (c *command) cleanup() {
	if c.credDir != "" {
		_ = os.RemoveAll(c.credDir)
		c.credDir = ""
	}
}

// writeSecretFile creates a private (0700) temp dir with one 0600 file.
func writeSecretFile(name, content string) (dir, path string, err error) {
	dir, err = os.MkdirTemp("", credPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", "", fmt.Errorf("credentials dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return "", "", fmt.Errorf("credentials dir: %w", err)
	}
	path = filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		_, err = f.WriteString(content)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", "", fmt.Errorf("credentials file: %w", err)
	}
	return dir, path, nil
}

// pgCommand builds pg_dump/pg_restore arguments: every value as --opt=value;
// the database goes in a quoted conninfo string so that a name containing
// '=' or a leading '-' stays a database name. The password travels only in
// a PGPASSFILE.
func pgCommand(t dbclient.Target, extra []string) (*command, error) {
	c := &command{env: childEnv(true)}
	if t.Password != "" {
		if strings.ContainsAny(t.Password, "\r\n") {
			return nil, errors.New("a password containing a line break cannot be passed to the PostgreSQL tools")
		}
		dir, path, err := writeSecretFile("pgpass", pgpassLine(t))
		if err != nil {
			return nil, err
		}
		c.credDir = dir
		c.env = append(c.env, "PGPASSFILE="+path)
	}
	mode := t.SSLMode
	if mode == "" {
		mode = "prefer"
	}
	conninfo := "dbname=" + dbclient.ConninfoQuote(t.Database) + " sslmode=" + dbclient.ConninfoQuote(mode) +
		" connect_timeout=10"
	c.args = append(append([]string{}, extra...), "--no-password",
		"--host="+t.Host, "--port="+strconv.Itoa(t.EffectivePort()), "--username="+t.User,
		"--dbname="+conninfo)
	return c, nil
}

// pgpassLine is host:port:*:user:password with ':' and '\' escaped.
func pgpassLine(t dbclient.Target) string {
	return strings.Join([]string{pgpassEscape(t.Host), strconv.Itoa(t.EffectivePort()), "*",
		pgpassEscape(t.User), pgpassEscape(t.Password)}, ":") + "\n"
}

func pgpassEscape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(v)
}

// mysqlCommand builds mysqldump/mysql arguments. The first argument is
// --defaults-extra-file with the credentials; the database is passed last,
// after "--" for the dump tool and as --database= for the client.
func mysqlCommand(t dbclient.Target, tl tool, opts []string, restore bool) (*command, error) {
	ssl, err := mysqlSSLArgs(t.SSLMode, tl.mariadb)
	if err != nil {
		return nil, err
	}
	dir, path, err := writeSecretFile("client.cnf", myCnf(t))
	if err != nil {
		return nil, err
	}
	// No HOME: ~/.my.cnf is read after the extra file and could override it.
	c := &command{env: childEnv(false), credDir: dir}
	c.args = append([]string{"--defaults-extra-file=" + path}, opts...)
	c.args = append(c.args, ssl...)
	if restore {
		c.args = append(c.args, "--database="+t.Database)
	} else {
		c.args = append(c.args, "--", t.Database)
	}
	return c, nil
}

// myCnf is a [client] option group with quoted, escaped values.
func myCnf(t dbclient.Target) string {
	var b strings.Builder
	b.WriteString("[client]\n")
	fmt.Fprintf(&b, "user=%s\n", cnfQuote(t.User))
	fmt.Fprintf(&b, "password=%s\n", cnfQuote(t.Password))
	fmt.Fprintf(&b, "host=%s\n", cnfQuote(t.Host))
	fmt.Fprintf(&b, "port=%d\n", t.EffectivePort())
	b.WriteString("protocol=TCP\n")
	return b.String()
}

// cnfQuote double-quotes an option-file value, escaping what the MySQL and
// MariaDB option-file parser unescapes.
func cnfQuote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\b", `\b`)
	return `"` + r.Replace(v) + `"`
}

// mysqlSSLArgs maps ssl_mode to the client tools' options.
func mysqlSSLArgs(mode string, mariadb bool) ([]string, error) {
	tlsMode, err := dbclient.MySQLTLS(mode)
	if err != nil {
		return nil, err
	}
	if !mariadb {
		m := map[string]string{"false": "DISABLED", "true": "VERIFY_IDENTITY", "skip-verify": "REQUIRED", "preferred": "PREFERRED"}
		return []string{"--ssl-mode=" + m[tlsMode]}, nil
	}
	switch tlsMode {
	case "false":
		return []string{"--skip-ssl"}, nil
	case "true":
		return []string{"--ssl", "--ssl-verify-server-cert"}, nil
	case "skip-verify":
		return []string{"--ssl", "--skip-ssl-verify-server-cert"}, nil
	default:
		return nil, nil
	}
}

// childEnv is a minimal copy of this process's environment: no PG*/MYSQL*
// variables, nothing that is not needed to run a client tool.
func childEnv(keepHome bool) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "PG"), strings.HasPrefix(k, "MYSQL"), strings.HasPrefix(k, "MARIADB"):
		case k == "PATH", k == "LANG", k == "LANGUAGE", k == "TZ", k == "TMPDIR", strings.HasPrefix(k, "LC_"):
			out = append(out, kv)
		case k == "HOME" && keepHome:
			out = append(out, kv)
		}
	}
	return out
}
