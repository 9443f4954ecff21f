package dump

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jagad/jagad/engine/dbclient"
)

// The binary log stream gets its credentials only through a 0600
// --defaults-file, its first argument; argv holds no password.
func TestStreamBinlogsCredentials(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "seen")
	tool := filepath.Join(dir, "mariadb-binlog")
	script := "#!/bin/sh\nf=${1#--defaults-file=}\n{ printf '%s\\n' \"$@\"; stat -c %a \"$f\"; cat \"$f\"; } > " + out + "\necho 'ERROR: Got error reading packet from server' >&2\nexit 1\n"
	if err := os.WriteFile(tool, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	const pw = `s3cr"et pw`
	tg := dbclient.Target{DBType: "mariadb", Host: "127.0.0.1", Port: 3306, User: "u", Password: pw, SSLMode: "disable"}
	err := StreamBinlogs(context.Background(), tg, BinlogStreamOptions{Tool: tool, Dir: dir, First: "mysql-bin.000007"}, nil)
	if err == nil || !strings.Contains(err.Error(), "reading packet") {
		t.Fatalf("err = %v, want the tool's failure", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if !strings.HasPrefix(lines[0], "--defaults-file=") {
		t.Fatalf("first argument %q, want --defaults-file", lines[0])
	}
	args := strings.Join(lines[:10], "\n")
	for _, want := range []string{"--read-from-remote-server", "--raw", "--stop-never", "--result-file=" + dir + "/", "mysql-bin.000007"} {
		if !strings.Contains(args, want) {
			t.Errorf("argument %q missing in %q", want, args)
		}
	}
	argv := string(b[:strings.Index(string(b), "[client]")])
	if strings.Contains(argv, "s3cr") || !strings.Contains(argv, "\n600\n") {
		t.Fatalf("password in argv or defaults file not 0600:\n%s", argv)
	}
	if !strings.Contains(string(b), `password="s3cr\"et pw"`) {
		t.Fatalf("defaults file lacks the password:\n%s", b)
	}
	if _, err := os.Stat(strings.TrimPrefix(lines[0], "--defaults-file=")); !os.IsNotExist(err) {
		t.Fatalf("defaults file left behind: %v", err)
	}
	if err := StreamBinlogs(context.Background(), tg, BinlogStreamOptions{Tool: tool, Dir: dir, First: "--x"}, nil); err == nil {
		t.Fatal("a file name starting with - was accepted")
	}
}
