package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// yaml.v3 reports a syntax error as "yaml: line N: problem", where N is the
// line of the enclosing construct (the block or flow collection, the quoted
// scalar being scanned), not of the token that broke it, and never a
// column. Its scanner and parser, which know the real position, are not
// exported. So the position is found by asking yaml.v3 itself: the parser
// is a deterministic stream, so a prefix of the document that ends after
// the offending token fails with exactly the same error, and a prefix that
// ends before it does not. The shortest such prefix ends on the offending
// token's first character. It is found by galloping from yaml.v3's line and
// bisecting, first over lines, then over the characters of the line found:
// a few parses of a prefix, only when the file is already rejected.
//
// Errors that happen at the end of the input (an unclosed quote or flow
// collection) fail the same way for every prefix after their opener, so the
// search lands on the opener, which is what the reader needs to see.

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// maxSyntaxSearch bounds the size of a document whose syntax error position
// is searched (each step parses a prefix: a search costs about 10 to 40
// parses); larger ones get yaml.v3's line only.
const maxSyntaxSearch = 256 << 10

// reportSyntax reports the YAML syntax error err of data at the position of
// the offending token.
func reportSyntax(rep *Report, data []byte, err error) {
	msg := err.Error()
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		rep.errorf(1, 1, "YAML syntax error: %s", trimYAMLPrefix(msg))
		return
	}
	line, _ := strconv.Atoi(m[1])
	problem := m[2]
	pos := syntaxPos{line: line, col: 1}
	if len(data) <= maxSyntaxSearch {
		pos = locateSyntaxError(data, msg, line)
	}
	rep.errorf(pos.line, pos.col, "YAML syntax error: %s%s", problem, syntaxHint(data, problem, pos))
}

func trimYAMLPrefix(s string) string {
	if len(s) > 6 && s[:6] == "yaml: " {
		return s[6:]
	}
	return s
}

// syntaxPos is a 1-based position and the character found there.
type syntaxPos struct {
	line, col int
	char      rune
	offset    int        // byte offset of char in the document
	opener    *syntaxPos // the flow collection the error is in, if known
}

// locateSyntaxError finds the offending token of the syntax error want.
// reported is the line yaml.v3 named; the token is never before the line
// above it (yaml.v3 names parser errors by a 0-based line).
func locateSyntaxError(data []byte, want string, reported int) syntaxPos {
	fails := func(p []byte) bool { return yamlSyntaxError(p) == want }
	if !fails(data) { // cannot happen; keep yaml.v3's line
		return syntaxPos{line: reported, col: 1}
	}
	pos := shortestFailing(data, reported, fails)
	problem := yamlLineRE.FindStringSubmatch(want)[2]
	if closer, opener, ok := flowCloser(problem); ok {
		// Closing every collection the prefix could have open (the extra
		// closers then break the document elsewhere) keeps the error only
		// if a token of the prefix is the offending one. The space lets a
		// ':' at the end of the prefix be a value indicator.
		closers := append([]byte{' '}, bytes.Repeat([]byte{closer}, maxDepth)...)
		withClosers := func(p []byte) bool {
			return fails(p) && fails(append(p[:len(p):len(p)], closers...))
		}
		closed := withClosers(data)
		if closed {
			pos = shortestFailing(data, reported, withClosers)
		}
		// yaml.v3 names a parser error by the 0-based line of its
		// context: here the line of the collection's opener.
		o := findOpener(data, reported+1, pos, opener)
		switch {
		case o.line == 0:
		case closed:
			pos.opener = &o
		default: // nothing breaks the collection: it is never closed
			o.opener = &o
			pos = o
		}
		return pos
	}
	if pos.char == ':' && strings.HasPrefix(problem, "did not find expected") {
		// The scanner makes a mapping key a key only at its ':'; the
		// offending token starts at the key.
		pos = keyStart(data, pos)
	}
	return pos
}

// shortestFailing returns the position of the last character of the
// shortest prefix of data for which fails holds, searching from the line
// above reported. fails(data) must hold.
func shortestFailing(data []byte, reported int, fails func([]byte) bool) syntaxPos {
	starts := lineStarts(data)
	lineEnd := func(i int) int { // end of line i (0-based), newline included
		if i+1 < len(starts) {
			return starts[i+1]
		}
		return len(data)
	}
	lo, hi := max(reported-2, 0), len(starts)-1
	// The offending line is usually a few lines after the reported one:
	// gallop from there before bisecting.
	for step := 1; lo+step-1 < hi; step *= 2 {
		if fails(data[:lineEnd(lo+step-1)]) {
			hi = lo + step - 1
			break
		}
		lo += step
	}
	for lo < hi { // smallest 0-based line whose prefix through it fails
		mid := (lo + hi) / 2
		if fails(data[:lineEnd(mid)]) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	line := lo
	var ends []int // prefix ends after each character of the line
	for i := starts[line]; i < lineEnd(line); {
		_, size := utf8.DecodeRune(data[i:])
		i += size
		ends = append(ends, i)
	}
	if len(ends) == 0 {
		return syntaxPos{line: line + 1, col: 1, offset: starts[line]}
	}
	lo, hi = 0, len(ends)-1
	for lo < hi { // smallest character whose prefix through it fails
		mid := (lo + hi) / 2
		if fails(data[:ends[mid]]) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	offset := starts[line]
	if lo > 0 {
		offset = ends[lo-1]
	}
	r, _ := utf8.DecodeRune(data[offset:])
	return syntaxPos{line: line + 1, col: lo + 1, char: r, offset: offset}
}

// flowCloser returns the closing and opening indicator of the flow
// collection a problem is about.
func flowCloser(problem string) (closer, opener byte, ok bool) {
	switch problem {
	case "did not find expected ',' or ']'":
		return ']', '[', true
	case "did not find expected ',' or '}'":
		return '}', '{', true
	}
	return 0, 0, false
}

// findOpener returns the position of the flow collection opener on the
// 1-based line, the last one before pos when pos is on that line, or the
// zero syntaxPos when the line has none.
func findOpener(data []byte, line int, pos syntaxPos, opener byte) syntaxPos {
	starts := lineStarts(data)
	if line < 1 || line > len(starts) || line > pos.line {
		return syntaxPos{}
	}
	start, end := starts[line-1], len(data)
	if line < len(starts) {
		end = starts[line]
	}
	if line == pos.line {
		end = pos.offset
	}
	i := bytes.LastIndexByte(data[start:end], opener)
	if i < 0 {
		return syntaxPos{}
	}
	return syntaxPos{line: line, col: utf8.RuneCount(data[start:start+i]) + 1, char: rune(opener), offset: start + i}
}

// keyStart moves pos from a key's ':' back to the first character of the
// key: after the indentation, a "- " entry indicator or a flow indicator.
func keyStart(data []byte, pos syntaxPos) syntaxPos {
	lineStart := bytes.LastIndexByte(data[:pos.offset], '\n') + 1
	start := lineStart
	for i := lineStart; i < pos.offset; i++ {
		switch c := data[i]; {
		case c == ',' || c == '[' || c == '{':
			start = i + 1
		case c == '-' && i+1 < pos.offset && data[i+1] == ' ' && (i == start || data[i-1] == ' '):
			start = i + 1
		}
	}
	for start < pos.offset && data[start] == ' ' {
		start++
	}
	if start == pos.offset {
		return pos
	}
	r, _ := utf8.DecodeRune(data[start:])
	return syntaxPos{line: pos.line, col: utf8.RuneCount(data[lineStart:start]) + 1, char: r, offset: start}
}

// lineStarts returns the offset of the start of every line of data.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// yamlSyntaxError parses data as parseYAML does (at most two documents) and
// returns the text of the first syntax error, or "".
func yamlSyntaxError(data []byte) string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for range 2 {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return ""
			}
			return err.Error()
		}
	}
	return ""
}

// syntaxHint explains the common causes of a syntax error found at pos.
func syntaxHint(data []byte, problem string, pos syntaxPos) string {
	switch {
	case problem == "mapping values are not allowed in this context" && pos.char == ':':
		if indentedDeeper(data, pos.line) {
			return " (is this line indented too far?)"
		}
		return ` (a value that contains ": " must be quoted)`
	case pos.char == '\t':
		return " (a tab: YAML indents with spaces only)"
	case (pos.char == '"' || pos.char == '\'') && problem == "found unexpected end of stream":
		return " (this quote is never closed)"
	case pos.opener != nil && pos.opener.offset == pos.offset:
		return fmt.Sprintf(" (this %q is never closed)", pos.char)
	case pos.opener != nil && pos.opener.line < pos.line:
		return fmt.Sprintf(" (in the %q opened at %d:%d: is it closed?)", pos.opener.char, pos.opener.line, pos.opener.col)
	case pos.opener != nil:
		return fmt.Sprintf(" (in the %q opened at column %d: is it closed?)", pos.opener.char, pos.opener.col)
	}
	return ""
}

// indentedDeeper reports whether the 1-based line is indented deeper than
// the nearest non-blank line above it.
func indentedDeeper(data []byte, line int) bool {
	lines := bytes.Split(data, []byte("\n"))
	if line < 2 || line > len(lines) {
		return false
	}
	indent := func(l []byte) int { return len(l) - len(bytes.TrimLeft(l, " ")) }
	for i := line - 2; i >= 0; i-- {
		if len(bytes.TrimSpace(lines[i])) > 0 {
			return indent(lines[line-1]) > indent(lines[i])
		}
	}
	return false
}
