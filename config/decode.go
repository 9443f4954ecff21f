package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// fieldMeta is what the decoder remembers about one decoded path
// ("connections[2].port"): where it is and where its value came from.
type fieldMeta struct {
	line, col  int
	null       bool // explicitly null (port: ~), treated as absent
	hasRef     bool // the value contained a ${...} reference
	unresolved bool // a reference could not be resolved; the value is empty
	bad        bool // a decoding error was reported here; later checks skip it
}

// decoder walks a yaml.Node tree into Go values strictly: unknown keys,
// duplicate keys and wrong types are reported with positions, and decoding
// goes on so that every problem of the file is reported at once.
type decoder struct {
	rep       *Report
	exp       *expander
	resolve   bool
	meta      map[string]fieldMeta
	fields    map[reflect.Type]structInfo
	visits    int
	maxVisits int
	stopped   bool
}

type structInfo struct {
	index map[string]int
	names []string
}

const maxDepth = 64

var durationType = reflect.TypeFor[Duration]()

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fail reports a decoding error at path and marks the path bad.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	m, ok := d.meta[path]
	if !ok {
		m = fieldMeta{line: n.Line, col: n.Column}
	}
	m.bad = true
	d.meta[path] = m
	d.errorf(n, format, args...)
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.rep.errorf(n.Line, n.Column, format, args...)
}

// enter counts a visited node and follows aliases; false means stop.
func (d *decoder) enter(n *yaml.Node, path string, depth int) (*yaml.Node, bool) {
	if d.stopped {
		return nil, false
	}
	for hops := 0; n.Kind == yaml.AliasNode; hops++ {
		if n.Alias == nil || hops > maxDepth {
			d.errorf(n, "%s: unresolvable alias", path)
			return nil, false
		}
		n = n.Alias
	}
	d.visits++
	if d.visits > d.maxVisits || depth > maxDepth {
		d.errorf(n, "%s: document too deeply nested or too many alias expansions", path)
		d.stopped = true
		return nil, false
	}
	return n, true
}

// decode decodes n into v (addressable) at path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	n, ok := d.enter(n, path, depth)
	if !ok {
		return
	}
	if isNull(n) {
		d.meta[path] = fieldMeta{line: n.Line, col: n.Column, null: true}
		return
	}
	if v.Type() == durationType {
		d.decodeDuration(n, v, path)
		return
	}
	if v.Type() == copyTargetType && n.Kind == yaml.ScalarNode {
		d.decodeCopyShorthand(n, v, path, depth) // copies_to: [offsite]
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), path, depth)
		if m, ok := d.meta[path]; ok && !m.unresolved {
			v.Set(elem)
		}
	case reflect.Struct:
		d.decodeStruct(n, v, path, depth)
	case reflect.Slice:
		d.decodeSlice(n, v, path, depth)
	case reflect.Map:
		d.decodeMap(n, v, path, depth)
	case reflect.Interface:
		v.Set(reflect.ValueOf(d.generic(n, path, depth)))
	case reflect.String:
		if text, _, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(text)
		}
	case reflect.Int:
		d.decodeInt(n, v, path)
	case reflect.Bool:
		d.decodeBool(n, v, path)
	default:
		d.errorf(n, "%s: unsupported field type %s", path, v.Type())
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// scalar expands a scalar node and records its meta. tag is "" when the
// value came from an expansion (it then takes the type its field needs).
func (d *decoder) scalar(n *yaml.Node, path, want string) (text, tag string, ok bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "%s: expected %s, got %s", path, want, kindName(n))
		return "", "", false
	}
	m := fieldMeta{line: n.Line, col: n.Column}
	text, tag = n.Value, n.ShortTag()
	if tag != "!!binary" && strings.Contains(text, "$") {
		res, err := d.exp.expandField(path, text)
		if err != nil {
			d.meta[path] = m
			d.fail(n, path, "%s: %v", path, err)
			return "", "", false
		}
		text = res.value
		if res.hasRef {
			m.hasRef = true
			tag = ""
		}
		for _, u := range res.unresolved {
			m.unresolved = true
			if d.resolve {
				d.errorf(n, "%s: unresolved reference: %s", path, u)
			} else {
				d.rep.warnf(n.Line, n.Column, "%s: unresolved reference: %s (value left empty)", path, u)
				d.rep.Diagnostics[len(d.rep.Diagnostics)-1].Unresolved = true
			}
		}
	}
	d.meta[path] = m
	if m.unresolved {
		return "", "", false
	}
	return text, tag, true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int":
			return "an integer"
		case "!!bool":
			return "a boolean"
		case "!!float":
			return "a number"
		}
		return "a string"
	}
	return "a document"
}

// shown returns a value for an error message; expanded values are never
// shown (they may hold secrets).
func shown(text, tag string) string {
	if tag == "" {
		return "the expanded value of a ${...} reference"
	}
	if len(text) > 40 {
		text = text[:40] + "..."
	}
	return strconv.Quote(text)
}

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string) {
	text, tag, ok := d.scalar(n, path, "an integer")
	if !ok {
		return
	}
	var i int64
	var err error
	switch tag {
	case "":
		i, err = strconv.ParseInt(strings.TrimSpace(text), 10, 64)
	case "!!int":
		var x int
		err = n.Decode(&x)
		i = int64(x)
	default:
		err = fmt.Errorf("not an integer")
	}
	if err != nil || int64(int(i)) != i {
		d.fail(n, path, "%s: expected an integer, got %s", path, shown(text, tag))
		return
	}
	v.SetInt(i)
}

func (d *decoder) decodeBool(n *yaml.Node, v reflect.Value, path string) {
	text, tag, ok := d.scalar(n, path, "a boolean")
	if !ok {
		return
	}
	if tag == "" {
		tag = "!!str"
		switch strings.TrimSpace(text) {
		case "true", "True", "TRUE":
			v.SetBool(true)
			return
		case "false", "False", "FALSE":
			v.SetBool(false)
			return
		}
	}
	if tag == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			v.SetBool(b)
			return
		}
	}
	d.fail(n, path, "%s: expected a boolean (true or false), got %s", path, shown(text, tag))
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	text, tag, ok := d.scalar(n, path, "a duration")
	if !ok {
		return
	}
	dur, err := ParseDuration(text)
	if err != nil {
		d.fail(n, path, "%s: expected a duration like 90m, 6h or 30d, got %s", path, shown(text, tag))
		return
	}
	v.Set(reflect.ValueOf(dur))
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, depth int) {
	d.meta[path] = fieldMeta{line: n.Line, col: n.Column}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "%s: expected a list, got %s", path, kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, s.Index(i), path+"["+strconv.Itoa(i)+"]", depth+1)
	}
	v.Set(s)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, depth int) {
	d.meta[path] = fieldMeta{line: n.Line, col: n.Column}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "%s: expected a mapping, got %s", displayPath(path), kindName(n))
		return
	}
	info := d.structInfo(v.Type())
	d.pairs(n, path, depth, func(k, val *yaml.Node) {
		i, ok := info.index[k.Value]
		if !ok {
			d.errorf(k, "%s", unknownField(k.Value, path, info.names))
			return
		}
		d.decode(val, v.Field(i), joinPath(path, k.Value), depth+1)
	})
}

func displayPath(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

func unknownField(key, path string, names []string) string {
	msg := fmt.Sprintf("unknown field %q in %s", key, displayPath(path))
	if s := suggest(key, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, depth int) {
	d.meta[path] = fieldMeta{line: n.Line, col: n.Column}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "%s: expected a mapping, got %s", path, kindName(n))
		return
	}
	m := reflect.MakeMap(v.Type())
	d.pairs(n, path, depth, func(k, val *yaml.Node) {
		ev := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, ev, joinPath(path, k.Value), depth+1)
		m.SetMapIndex(reflect.ValueOf(k.Value), ev)
	})
	v.Set(m)
}

// generic decodes a free-form value (notification config).
func (d *decoder) generic(n *yaml.Node, path string, depth int) any {
	n, ok := d.enter(n, path, depth)
	if !ok {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		d.meta[path] = fieldMeta{line: n.Line, col: n.Column}
		m := map[string]any{}
		d.pairs(n, path, depth, func(k, val *yaml.Node) {
			m[k.Value] = d.generic(val, joinPath(path, k.Value), depth+1)
		})
		return m
	case yaml.SequenceNode:
		d.meta[path] = fieldMeta{line: n.Line, col: n.Column}
		list := make([]any, len(n.Content))
		for i, item := range n.Content {
			list[i] = d.generic(item, path+"["+strconv.Itoa(i)+"]", depth+1)
		}
		return list
	}
	if isNull(n) {
		d.meta[path] = fieldMeta{line: n.Line, col: n.Column, null: true}
		return nil
	}
	text, tag, ok := d.scalar(n, path, "a value")
	if !ok {
		return ""
	}
	switch tag {
	case "!!int", "!!bool", "!!float":
		var v any
		if err := n.Decode(&v); err == nil {
			return v
		}
	}
	return text
}

func (d *decoder) structInfo(t reflect.Type) structInfo {
	if info, ok := d.fields[t]; ok {
		return info
	}
	info := structInfo{index: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		info.index[name] = i
		info.names = append(info.names, name)
	}
	d.fields[t] = info
	return info
}
