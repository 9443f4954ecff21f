package dump

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jagad/jagad/engine/dbclient"
)

// pgMagic starts every pg_dump custom-format archive.
var pgMagic = []byte("PGDMP")

// mysqlTrailer starts the last line of a complete mysqldump/mariadb-dump.
var mysqlTrailer = []byte("-- Dump completed")

// Extension is the file extension of a dump of dbType: ".pgdump" for
// PostgreSQL custom-format archives, ".sql" for MySQL/MariaDB.
func Extension(dbType string) string {
	if dbType == dbclient.PostgreSQL {
		return ".pgdump"
	}
	return ".sql"
}

// tailBuf keeps the last bytes written to it (bounded memory).
type tailBuf struct{ buf []byte }

const tailSize = 512

func (t *tailBuf) Write(p []byte) (int, error) {
	if len(p) >= tailSize {
		t.buf = append(t.buf[:0], p[len(p)-tailSize:]...)
		return len(p), nil
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// hasTrailer reports whether the last non-empty line is the mysqldump
// completion trailer.
func (t *tailBuf) hasTrailer() bool {
	b := bytes.TrimRight(t.buf, " \r\n\t")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return bytes.HasPrefix(b, mysqlTrailer)
}

// outputCheck forwards a dump stream to w while proving it plausible: a
// PostgreSQL archive must start with PGDMP, a MySQL dump must end with the
// completion trailer, and neither may be empty.
type outputCheck struct {
	w       io.Writer
	pg      bool
	onFirst func()      // called before the first byte is forwarded
	rows    *rowCounter // counts MySQL rows in passing; nil for none
	n       int64
	head    []byte
	tail    tailBuf
}

var errNotArchive = errors.New("output is not a pg_dump custom-format archive (no PGDMP header)")

func (o *outputCheck) Write(p []byte) (int, error) {
	if err := o.accept(p); err != nil {
		return 0, err
	}
	n, err := o.w.Write(p)
	o.passed(p[:n])
	return n, err
}

// ReadFrom hands r, checked and counted on the way, to a w that reads by
// itself: the pipeline then reads the tool's pipe into its own buffers,
// without a copy.
func (o *outputCheck) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := o.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(checkReader{o: o, r: r})
	}
	return copyOut(struct{ io.Writer }{o}, r)
}

// accept checks bytes before they go on: the start of a pg_dump archive.
func (o *outputCheck) accept(p []byte) error {
	if o.onFirst != nil && len(p) > 0 {
		o.onFirst()
		o.onFirst = nil
	}
	if o.pg && len(o.head) < len(pgMagic) {
		need := min(len(pgMagic)-len(o.head), len(p))
		o.head = append(o.head, p[:need]...)
		if !bytes.HasPrefix(pgMagic, o.head) {
			return errNotArchive
		}
	}
	return nil
}

// passed counts and follows the bytes that went on.
func (o *outputCheck) passed(p []byte) {
	o.n += int64(len(p))
	if !o.pg {
		_, _ = o.tail.Write(p)
		if o.rows != nil {
			_, _ = o.rows.Write(p)
		}
	}
}

// checkReader is outputCheck on the reading side.
type checkReader struct {
	o *outputCheck
	r io.Reader
}

func (c checkReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		if aerr := c.o.accept(p[:n]); aerr != nil {
			return 0, aerr
		}
		c.o.passed(p[:n])
	}
	return n, err
}

// finish validates the complete stream.
func (o *outputCheck) finish(name string) error {
	switch {
	case o.n == 0:
		return fmt.Errorf("%s exited successfully but produced no output", name)
	case o.pg && !bytes.Equal(o.head, pgMagic):
		return fmt.Errorf("%s: %w", name, errNotArchive)
	case !o.pg && !o.tail.hasTrailer():
		return fmt.Errorf("%s output has no \"-- Dump completed\" trailer: the dump is incomplete", name)
	}
	return nil
}

// CheckReadable proves a dump is readable without a database server:
// PostgreSQL archives are listed with `pg_restore --list` (stdin), MySQL and
// MariaDB dumps are read to EOF and must end with the completion trailer.
// r is always read to EOF unless an error occurs.
func CheckReadable(ctx context.Context, dbType string, tools Tools, r io.Reader) error {
	switch dbType {
	case dbclient.PostgreSQL:
		br := bufio.NewReaderSize(r, 64<<10)
		if head, _ := br.Peek(512); isTar(head) {
			return checkBaseTar(br) // a physical base backup (basebackup.go)
		}
		r = br
		tl, err := tools.probe(ctx, dbType, roleRestore)
		if err != nil {
			return fmt.Errorf("check dump: %w", err)
		}
		cr := &countingReader{r: r}
		err = run(ctx, spec{tool: tl, args: []string{"--list"}, env: childEnv(false), stdin: cr})
		if err != nil {
			return fmt.Errorf("check dump: %w", err)
		}
		if cr.n == 0 {
			return errors.New("check dump: empty input")
		}
		return nil
	case dbclient.MySQL, dbclient.MariaDB:
		br := bufio.NewReaderSize(r, 64<<10)
		if head, _ := br.Peek(len(xbMagic)); IsXbstream(head) { // a physical backup (xbstream.go)
			if _, err := CheckXbstream(br); err != nil {
				return fmt.Errorf("check physical backup: %w", err)
			}
			return nil
		}
		r = br
		var tail tailBuf
		n, err := io.Copy(&tail, r)
		if err != nil {
			return fmt.Errorf("check dump: read: %w", err)
		}
		if n == 0 {
			return errors.New("check dump: empty input")
		}
		if !tail.hasTrailer() {
			return errors.New("check dump: no \"-- Dump completed\" trailer: the dump is incomplete")
		}
		return nil
	default:
		return fmt.Errorf("check dump: unsupported database type: %q", dbType)
	}
}

// countingReader counts bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
