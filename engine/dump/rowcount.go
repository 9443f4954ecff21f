package dump

import (
	"bytes"
	"errors"
	"fmt"
)

// rowCounter counts the rows of every table in a mysqldump/mariadb-dump
// stream as it passes, by counting the value tuples of its INSERT
// statements. The counts describe exactly the snapshot that was dumped (an
// exact COUNT(*) taken beforehand describes an earlier moment, and costs a
// full scan of every table before the dump can start).
//
// It understands the output of the options Jagad passes (extended inserts,
// backslash-escaped strings, DELIMITER blocks for triggers and routines);
// anything else makes err non-nil, and the caller counts another way.
type rowCounter struct {
	counts map[string]int64
	err    error

	st    rcState
	head  []byte // start of the current top-level line, up to headLen bytes
	name  []byte // table name being read
	table string // table of the current INSERT
	n     int64  // tuples of the current INSERT
	esc   bool   // in a string, the previous byte was an unpaired backslash
	tick  bool   // in a table name, the previous byte was a backtick; in a column list, inside backticks
	cols  bool   // the current INSERT's column list was read
	delim bool   // inside a DELIMITER block (trigger and routine bodies)
}

type rcState uint8

const (
	rcLineStart rcState = iota // collecting the start of a top-level line
	rcSkipLine                 // rest of an uninteresting line
	rcName                     // inside INSERT INTO `…`
	rcValues                   // expecting " VALUES" (or a column list)
	rcColumns                  // inside a column list
	rcBetween                  // between tuples: '(' opens one, ';' ends the INSERT
	rcTuple                    // inside a tuple, outside strings
	rcString                   // inside a '…' string
)

var (
	insertPrefix = []byte("INSERT INTO `")
	valuesWord   = []byte(" VALUES")
	delimPrefix  = []byte("DELIMITER ")
	delimEnd     = []byte("DELIMITER ;")
)

// headLen is how much of a line's start decides what the line is.
var headLen = max(len(insertPrefix), len(delimEnd)+1)

// newRowCounter starts counting; tables are the base tables of the database
// (so that an empty table counts 0 rows rather than being missing).
func newRowCounter(tables []string) *rowCounter {
	c := &rowCounter{counts: make(map[string]int64, len(tables))}
	for _, t := range tables {
		c.counts[t] = 0
	}
	return c
}

// Write never fails: a stream it cannot follow only sets c.err.
func (c *rowCounter) Write(p []byte) (int, error) {
	if c.err == nil {
		c.scan(p)
	}
	return len(p), nil
}

func (c *rowCounter) fail(format string, args ...any) {
	c.err = fmt.Errorf("row count from the dump stream: "+format, args...)
}

func (c *rowCounter) scan(p []byte) {
	for len(p) > 0 && c.err == nil {
		switch c.st {
		case rcLineStart:
			p = c.lineStart(p)
		case rcSkipLine:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return
			}
			p = p[i+1:]
			c.st, c.head = rcLineStart, c.head[:0]
		case rcName:
			p = c.tableName(p)
		case rcValues:
			p = c.values(p)
		case rcColumns:
			p = c.columns(p)
		case rcBetween, rcTuple, rcString:
			p = c.rows(p)
		}
	}
}

// lineStart collects the first bytes of a line and decides what it is.
func (c *rowCounter) lineStart(p []byte) []byte {
	nl := -1
	take := min(len(p), headLen-len(c.head))
	if i := bytes.IndexByte(p[:take], '\n'); i >= 0 {
		take, nl = i, i
	}
	c.head = append(c.head, p[:take]...)
	p = p[take:]
	if nl < 0 && len(c.head) < headLen {
		return p // need more of the line
	}
	head := bytes.TrimRight(c.head, " \r\t")
	switch {
	case c.delim:
		if bytes.Equal(head, delimEnd) {
			c.delim = false
		}
	case bytes.HasPrefix(head, delimPrefix) && !bytes.Equal(head, delimEnd):
		c.delim = true
	case bytes.Equal(c.head, insertPrefix):
		c.st, c.name, c.tick = rcName, c.name[:0], false
		return p
	}
	if nl >= 0 {
		c.head = c.head[:0]
		return p[1:] // the newline; stay at a line start
	}
	c.st = rcSkipLine
	return p
}

// tableName reads a backtick-quoted name (a doubled backtick is a literal one).
func (c *rowCounter) tableName(p []byte) []byte {
	for i, b := range p {
		if c.tick {
			c.tick = false
			if b != '`' { // the closing backtick was the previous byte
				c.table, c.n, c.cols = string(c.name), 0, false
				c.st, c.head = rcValues, c.head[:0]
				return p[i:]
			}
			c.name = append(c.name, '`')
			continue
		}
		if b == '`' {
			c.tick = true
			continue
		}
		if b == '\n' {
			c.fail("newline in a table name")
			return nil
		}
		c.name = append(c.name, b)
	}
	return nil
}

// values matches " VALUES" after the table name, or after a column list
// " (`a`, `b`)" (--complete-insert, and some servers for generated columns).
func (c *rowCounter) values(p []byte) []byte {
	for i, b := range p {
		if b == '(' && len(c.head) == 1 && !c.cols { // " (": a column list
			c.st, c.cols, c.tick = rcColumns, true, false
			return p[i+1:]
		}
		c.head = append(c.head, b)
		if !bytes.HasPrefix(valuesWord, c.head) {
			c.fail("INSERT INTO `%s` is not followed by VALUES", c.table)
			return nil
		}
		if len(c.head) == len(valuesWord) {
			c.st = rcBetween
			return p[i+1:]
		}
	}
	return nil
}

// columns skips a column list of backtick-quoted names (which may hold
// parentheses) to its closing parenthesis.
func (c *rowCounter) columns(p []byte) []byte {
	for i, b := range p {
		switch {
		case b == '`':
			c.tick = !c.tick // a doubled backtick toggles twice
		case b == ')' && !c.tick:
			c.st, c.head = rcValues, c.head[:0]
			return p[i+1:]
		case b == '\n':
			c.fail("newline in the column list of `%s`", c.table)
			return nil
		}
	}
	return nil
}

// rows follows an INSERT's value list: '(' opens a row, ')' closes it
// outside strings (mysqldump writes no nested ones), ';' ends the INSERT.
// The three states share one loop: rows are short and the loop is hot.
func (c *rowCounter) rows(p []byte) []byte {
	i := 0
	for i < len(p) {
		switch c.st {
		case rcString:
			rest := c.str(p[i:])
			if rest == nil {
				return nil
			}
			i = len(p) - len(rest)
		case rcTuple:
			for i < len(p) && !tupleStop[p[i]] {
				i++
			}
			if i == len(p) {
				return nil
			}
			switch p[i] {
			case '\'':
				c.st, c.esc = rcString, false
			case ')':
				c.st = rcBetween
			default:
				c.fail("nested parenthesis in a row of `%s`", c.table)
				return nil
			}
			i++
		default: // rcBetween
			switch p[i] {
			case '(':
				c.n++
				if j := rowEnd(p[i+1:]); j >= 0 {
					i += j + 2 // past the row's ')': between rows again
					continue
				}
				c.st = rcTuple
			case ';':
				// Only the tables listed at the start count, the ones a drill
				// counts after its restore (not, e.g., MariaDB's system-versioned tables).
				if _, ok := c.counts[c.table]; ok {
					c.counts[c.table] += c.n
				}
				c.st = rcSkipLine
				return p[i+1:]
			case ',', ' ', '\n', '\r', '\t':
			default:
				c.fail("unexpected %q between the rows of `%s`", p[i], c.table)
				return nil
			}
			i++
		}
	}
	return nil
}

// rowEnd finds the end of a row that the byte loop above would follow
// to the same place, in a few vectorised scans instead of one step per
// string and value: row is what follows the row's '(' and j is the index of
// its first ')' when the stretch before it holds no backslash (no escapes),
// no '(' (nothing nested, and nothing the loop refuses) and an even number
// of quotes (so that ')' is outside strings). Else -1, and the loop follows
// the row.
func rowEnd(row []byte) int {
	j := bytes.IndexByte(row, ')')
	if j < 0 {
		return -1
	}
	seg := row[:j]
	if bytes.IndexByte(seg, '\\') >= 0 || bytes.IndexByte(seg, '(') >= 0 || bytes.Count(seg, quote)%2 != 0 {
		return -1
	}
	return j
}

var quote = []byte{'\''}

// tupleStop marks the bytes that end a stretch of unquoted row values.
var tupleStop = [256]bool{'\'': true, ')': true, '(': true}

// str skips a backslash-escaped string to its closing quote. Each byte is
// looked at a bounded number of times, however many escapes a string has.
func (c *rowCounter) str(p []byte) []byte {
	if c.esc { // the byte after a backslash is literal
		c.esc = false
		p = p[1:]
	}
	q, found := -1, false // next quote in p, valid while q >= 0
	for len(p) > 0 {
		if q < 0 {
			q = bytes.IndexByte(p, '\'')
			if found = q >= 0; !found {
				q = len(p)
			}
		}
		if b := bytes.IndexByte(p[:q], '\\'); b >= 0 {
			if b+1 == len(p) {
				c.esc = true
				return nil
			}
			p, q = p[b+2:], q-(b+2) // q < 0 now when the escaped byte was that quote
			continue
		}
		if !found {
			return nil
		}
		c.st = rcTuple
		return p[q+1:]
	}
	return nil
}

// result returns the counts, or why the stream could not be followed.
func (c *rowCounter) result() (map[string]int64, error) {
	if c.err != nil {
		return nil, c.err
	}
	if c.st != rcLineStart && c.st != rcSkipLine {
		return nil, errors.New("row count from the dump stream: the stream ended inside an INSERT")
	}
	return c.counts, nil
}
