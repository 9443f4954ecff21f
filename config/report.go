package config

import (
	"errors"
	"fmt"
	"sort"
)

// Severity tells an error from a warning.
type Severity int

const (
	// Error makes the whole file invalid.
	Error Severity = iota
	// Warning is reported but does not reject the file (except with validate --strict).
	Warning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem found in a file, with its position.
type Diagnostic struct {
	File     string
	Line     int
	Col      int
	Severity Severity
	Message  string
	// Unresolved marks the warning about a ${...} reference that could not
	// be resolved: `validate --strict` keeps it a warning (only --resolve
	// makes it an error), so CI can run --strict without the secrets.
	Unresolved bool
}

// String renders FILE:LINE:COL: message, with "warning: " before the
// message of a warning.
func (d Diagnostic) String() string {
	prefix := ""
	if d.Severity == Warning {
		prefix = "warning: "
	}
	return fmt.Sprintf("%s:%d:%d: %s%s", d.File, d.Line, d.Col, prefix, d.Message)
}

// Error makes a Diagnostic usable as an error.
func (d Diagnostic) Error() string { return d.String() }

// Report holds every diagnostic of one file.
type Report struct {
	File        string
	Diagnostics []Diagnostic
}

func (r *Report) add(sev Severity, line, col int, format string, args ...any) {
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	r.Diagnostics = append(r.Diagnostics, Diagnostic{
		File: r.File, Line: line, Col: col, Severity: sev, Message: fmt.Sprintf(format, args...),
	})
}

func (r *Report) errorf(line, col int, format string, args ...any) {
	r.add(Error, line, col, format, args...)
}

func (r *Report) warnf(line, col int, format string, args ...any) {
	r.add(Warning, line, col, format, args...)
}

// sort orders the diagnostics by position, keeping the discovery order of
// diagnostics at the same position.
func (r *Report) sort() {
	sort.SliceStable(r.Diagnostics, func(i, j int) bool {
		a, b := r.Diagnostics[i], r.Diagnostics[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

func (r *Report) filter(sev Severity) []Diagnostic {
	if r == nil {
		return nil
	}
	var out []Diagnostic
	for _, d := range r.Diagnostics {
		if d.Severity == sev {
			out = append(out, d)
		}
	}
	return out
}

// Errors returns the error diagnostics.
func (r *Report) Errors() []Diagnostic { return r.filter(Error) }

// Warnings returns the warning diagnostics.
func (r *Report) Warnings() []Diagnostic { return r.filter(Warning) }

// HasErrors reports whether the file was rejected.
func (r *Report) HasErrors() bool { return len(r.Errors()) > 0 }

// Err returns nil when the report has no errors, otherwise every error
// diagnostic joined with errors.Join (each one is a Diagnostic).
func (r *Report) Err() error {
	errs := r.Errors()
	if len(errs) == 0 {
		return nil
	}
	list := make([]error, len(errs))
	for i, d := range errs {
		list[i] = d
	}
	return errors.Join(list...)
}
