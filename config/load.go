package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Version is the only jagad.yaml format version this package reads.
const Version = 1

// Options tune loading.
type Options struct {
	// LookupEnv resolves ${VAR}; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile resolves ${file:/path}; nil means os.ReadFile. A relative path
	// is relative to the directory of the config file.
	ReadFile func(string) ([]byte, error)
	// DenyFileRefs refuses ${file:...} with an error: a document posted for
	// planning must not make the daemon read its own files for the sender.
	DenyFileRefs bool
	// Resolve makes an unresolvable reference an error. Without it (validate
	// on a laptop) it is a warning naming the variable or file, the value is
	// left empty, and that field's required/format checks are skipped.
	Resolve bool
}

// Load reads and parses the file at path. An I/O error is reported as an
// error diagnostic at 1:1.
func Load(path string, opts Options) (*File, *Report) {
	data, err := os.ReadFile(path)
	if err != nil {
		rep := &Report{File: path}
		rep.errorf(1, 1, "cannot read config file: %s", errorReason(err))
		return nil, rep
	}
	return Parse(path, data, opts)
}

// Parse decodes, expands, defaults and validates a jagad.yaml document.
//
// The Report always holds every diagnostic of the file, sorted by position.
// When it has errors the returned *File is nil: a file is accepted or
// rejected as a whole. Otherwise the File has its defaults applied to fields
// the file leaves out: connection port (5432 for postgresql, 3306 for mysql
// and mariadb) and ssl_mode "prefer"; storage region "auto" for the non-AWS
// S3 family, the AWS S3 endpoint derived from region, and the GCS endpoint;
// schedule backup_type "full", enabled true, timeout 6h and
// restore_test.every 1. Settings are never defaulted: a nil setting is one
// the file does not declare.
func Parse(filename string, data []byte, opts Options) (f *File, rep *Report) {
	rep = &Report{File: filename}
	x := &Expansions{}
	defer func() {
		if r := recover(); r != nil { // a parser bug must not take the daemon down
			rep.errorf(1, 1, "internal error while parsing: %v", r)
			f = nil
		}
		// No message quotes what a ${...} reference expanded to.
		x.finish()
		x.redactReport(rep)
		rep.sort()
		if rep.HasErrors() {
			f = nil
		}
	}()
	root := parseYAML(data, rep)
	if root == nil {
		return nil, rep
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	exp := &expander{lookupEnv: opts.LookupEnv, readFile: opts.ReadFile, dir: filepath.Dir(filename),
		denyFiles: opts.DenyFileRefs, rec: x}
	d := &decoder{
		rep:       rep,
		exp:       exp,
		resolve:   opts.Resolve,
		meta:      map[string]fieldMeta{},
		fields:    map[reflect.Type]structInfo{},
		maxVisits: 100_000 + 10*len(data),
	}
	f = &File{}
	d.decode(root, reflect.ValueOf(f).Elem(), "", 0)
	x.finish()
	x.locate(func(path string) (int, int, bool) {
		m, ok := d.meta[path]
		return m.line, m.col, ok
	}, literalText(root))
	f.Expansions = x
	c := &checker{file: f, rep: rep, meta: d.meta}
	c.run()
	return f, rep
}

// literalText joins the text of every scalar of the document with NUL.
func literalText(root *yaml.Node) string {
	var b strings.Builder
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if depth > maxDepth {
			return
		}
		if n.Kind == yaml.ScalarNode {
			b.WriteString(n.Value)
			b.WriteByte(0)
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(root, 0)
	return b.String()
}

// parseYAML parses exactly one YAML document and returns its root node, or
// nil after reporting why not.
func parseYAML(data []byte, rep *Report) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			rep.errorf(1, 1, "empty file: missing version: %d", Version)
			return nil
		}
		reportSyntax(rep, data, err)
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		rep.errorf(extra.Line, extra.Column, "a second YAML document (---): the file must hold exactly one")
	case !errors.Is(err, io.EOF):
		reportSyntax(rep, data, err)
	}
	if len(doc.Content) == 0 {
		rep.errorf(1, 1, "empty document: missing version: %d", Version)
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		if isNull(root) {
			rep.errorf(root.Line, root.Column, "empty document: missing version: %d", Version)
		} else {
			rep.errorf(root.Line, root.Column, "top level must be a mapping, got %s", kindName(root))
		}
		return nil
	}
	return root
}
