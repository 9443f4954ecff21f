package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// expander expands ${VAR}, ${VAR:-default}, ${file:/path} and $$ in one
// scalar value. A lone "$" not followed by "{" or "$" is kept literally.
type expander struct {
	lookupEnv func(string) (string, bool)
	readFile  func(string) ([]byte, error)
	dir       string // relative ${file:...} paths are relative to the config file's directory
	// denyFiles refuses ${file:...}: a document posted for planning must
	// not make the daemon read its own files.
	denyFiles bool
	// rec, when set, records every expanded field (see Expansions).
	rec *Expansions
}

// expansion is the result of expanding one scalar.
type expansion struct {
	value      string
	hasRef     bool     // the value contained at least one ${...} reference
	unresolved []string // one description per reference that could not be resolved
	// secrets are the values that came from the environment or a file,
	// with the reference that produced them (defaults are not secrets:
	// they are written in the file).
	secrets []secretValue
}

// expandField expands the scalar at path and records the expansion.
func (e *expander) expandField(path, s string) (expansion, error) {
	res, err := e.expand(s)
	if err == nil && res.hasRef {
		e.rec.add(path, s, res)
	}
	return res, err
}

// expand expands s. A syntax error (unterminated reference, bad variable
// name) is returned as an error; unresolved references are listed in the
// result and expand to the empty string.
func (e *expander) expand(s string) (expansion, error) {
	if !strings.Contains(s, "$") {
		return expansion{value: s}, nil
	}
	var b strings.Builder
	var res expansion
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return expansion{}, errors.New("unterminated ${ reference (write $$ for a literal $)")
		}
		ref := s[i+2 : i+2+end]
		val, ok, secret, desc, err := e.resolve(ref)
		if err != nil {
			return expansion{}, err
		}
		res.hasRef = true
		if !ok {
			res.unresolved = append(res.unresolved, desc)
		}
		if secret && val != "" {
			res.secrets = append(res.secrets, secretValue{ref: "${" + ref + "}", value: val})
		}
		b.WriteString(val)
		i += 2 + end
	}
	res.value = b.String()
	return res, nil
}

// resolve resolves the inside of one ${...}. secret tells that the value
// came from the environment or a file, not from a default in the reference.
func (e *expander) resolve(ref string) (val string, ok, secret bool, desc string, err error) {
	if path, isFile := strings.CutPrefix(ref, "file:"); isFile {
		if e.denyFiles {
			return "", false, false, "", errors.New("${file:...} is refused in a document posted for planning: " +
				"the daemon would read its own files for the requester (use ${VAR}; the daemon's own config file may use ${file:...})")
		}
		if path == "" {
			return "", false, false, "", errors.New("empty path in ${file:}")
		}
		if !filepath.IsAbs(path) && e.dir != "" {
			path = filepath.Join(e.dir, path)
		}
		data, rerr := e.readFile(path)
		if rerr != nil {
			return "", false, false, fmt.Sprintf("cannot read file %s: %s", path, errorReason(rerr)), nil
		}
		return strings.TrimRight(string(data), "\r\n"), true, true, "", nil
	}
	name, def, hasDef := strings.Cut(ref, ":-")
	if !validVarName(name) {
		return "", false, false, "", fmt.Errorf("invalid variable name %q in ${...}", name)
	}
	v, set := e.lookupEnv(name)
	if set && v != "" {
		return v, true, true, "", nil
	}
	if hasDef {
		return def, true, false, "", nil
	}
	if set {
		return "", true, false, "", nil
	}
	return "", false, false, fmt.Sprintf("environment variable %s is not set", name), nil
}

// errorReason shortens an I/O error to its cause (the path is already named).
func errorReason(err error) string {
	var pe interface{ Unwrap() error }
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap().Error()
	}
	return err.Error()
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
