package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/jagad/jagad/engine/dbclient"
)

// startMariaDB installs a fresh data dir and starts mariadbd on a free port
// of 127.0.0.1; root gets a password so password auth is exercised over TCP.
func startMariaDB() (*Server, func(), error) {
	installDB, err := findBinary("mariadb-install-db", "mysql_install_db")
	if err != nil {
		return nil, nil, err
	}
	mariadbd, err := findBinary("mariadbd", "/usr/sbin/mariadbd", "mysqld", "/usr/sbin/mysqld")
	if err != nil {
		return nil, nil, err
	}
	cred, err := serviceCred("mysql")
	if err != nil {
		return nil, nil, err
	}
	dir, err := tempDir("jagad-mytest-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	srv, stop, err := bootMariaDB(installDB, mariadbd, dir, cred)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("start throwaway mariadb: %w", err)
	}
	return srv, func() { stop(); cleanup() }, nil
}

func bootMariaDB(installDB, mariadbd, dir string, cred *syscall.Credential) (*Server, func(), error) {
	// A private tmpdir is not a nicety: at start mariadbd deletes every
	// #sql* file in its tmpdir, and with the default /tmp those include the
	// live temp tables of the machine's own server, failing its queries.
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, nil, err
	}
	if err := chown(cred, dir, tmp); err != nil {
		return nil, nil, err
	}
	data := filepath.Join(dir, "data")
	args := []string{"--no-defaults", "--datadir=" + data, "--tmpdir=" + tmp,
		"--auth-root-authentication-method=normal", "--skip-test-db"}
	if cred != nil {
		args = append(args, "--user=mysql")
	}
	if err := runAs(nil, installDB, args...); err != nil {
		return nil, nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	sock := filepath.Join(dir, "s.sock")
	d, err := startDaemon(cred, syscall.SIGTERM, filepath.Join(dir, "mariadb.log"), mariadbd,
		"--no-defaults", "--datadir="+data, "--tmpdir="+tmp, "--port="+strconv.Itoa(port),
		"--bind-address=127.0.0.1", "--socket="+sock, "--pid-file="+filepath.Join(dir, "m.pid"),
		"--skip-name-resolve", "--skip-log-bin", "--character-set-server=utf8mb4",
		"--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=0",
		"--max-allowed-packet=64M")
	if err != nil {
		return nil, nil, err
	}
	pw := password()
	if err := d.waitReady(30*time.Second, func() error { return setRootPassword(sock, pw) }); err != nil {
		d.stop()
		return nil, nil, err
	}
	return newServer(dbclient.MariaDB, "127.0.0.1", port, "root", pw, ""), d.stop, nil
}

// setRootPassword connects over the unix socket as password-less root and
// gives every root account (localhost, 127.0.0.1, ::1, ...) and a new
// root@'%' the password.
func setRootPassword(sock, pw string) error {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.Timeout = "root", "unix", sock, 2*time.Second
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := db.Conn(ctx) // one session: new ones fail once root has a password
	if err != nil {
		return err
	}
	defer conn.Close()
	lit := mysqlString(pw)
	// Keep one root@localhost (socket) and one root@'%' (TCP): install-db's
	// other root entries have no password, or a host name that
	// --skip-name-resolve ignores.
	stmts := []string{
		"DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost')",
		"FLUSH PRIVILEGES",
		"CREATE OR REPLACE USER 'root'@'%' IDENTIFIED BY " + lit,
		"GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION",
		"ALTER USER 'root'@'localhost' IDENTIFIED BY " + lit,
	}
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("set root password: %s: %w", q[:min(len(q), 40)], err)
		}
	}
	return nil
}

// mysqlString is a MySQL string literal for s.
func mysqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`).Replace(s) + "'"
}
