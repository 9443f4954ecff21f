package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// checker is the file-level pass: defaults, per-resource validation with
// positions, unique names, references, and literal-secret warnings.
type checker struct {
	file *File
	rep  *Report
	meta map[string]fieldMeta
	loc  *time.Location
}

func (c *checker) run() {
	c.checkVersion()
	c.applyDefaults()
	c.checkSettings()
	c.checkEncryption()
	storage := c.checkStorage()
	conns := c.checkConnections()
	notifs := c.checkNotifications()
	c.checkSchedules(storage, conns, notifs)
	c.checkBinlogArchiveRefs(storage)
	c.checkWalArchives(storage) // physical.go
	c.checkTokens()             // tokens.go
	c.checkCluster()            // cluster.go
	c.checkSecrets()
}

// present reports whether the file sets path to a non-null value.
func (c *checker) present(path string) bool {
	m, ok := c.meta[path]
	return ok && !m.null
}

// skip reports whether checks of path must be skipped: its value (or the
// value of a parent) was unresolved or already failed to decode.
func (c *checker) skip(path string) bool {
	for path != "" {
		if m := c.meta[path]; m.unresolved || m.bad {
			return true
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return false
		}
		path = path[:i]
	}
	return false
}

// pos returns the position of path or of its closest recorded parent.
func (c *checker) pos(path string) (int, int) {
	for path != "" {
		if m, ok := c.meta[path]; ok {
			return m.line, m.col
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 1, 1
}

func (c *checker) errorAt(path, format string, args ...any) {
	line, col := c.pos(path)
	c.rep.errorf(line, col, format, args...)
}

func (c *checker) warnAt(path, format string, args ...any) {
	line, col := c.pos(path)
	c.rep.warnf(line, col, format, args...)
}

// fieldErrors reports a validator's FieldErrors under prefix.
func (c *checker) fieldErrors(prefix, label string, errs []FieldError) {
	for _, e := range errs {
		full := joinPath(prefix, e.Field)
		if c.skip(full) {
			continue
		}
		c.errorAt(full, "%s: %s", label, e.Error())
	}
}

func label(kind, list string, i int, name string) (prefix, lbl string) {
	prefix = list + "[" + strconv.Itoa(i) + "]"
	if name == "" {
		return prefix, prefix
	}
	return prefix, fmt.Sprintf("%s %q", kind, name)
}

func (c *checker) checkVersion() {
	switch {
	case c.skip("version"):
	case !c.present("version"):
		c.rep.errorf(1, 1, "missing version: %d (required)", Version)
	case c.file.Version != Version:
		c.errorAt("version", "unsupported version %d (this Jagad reads version %d)", c.file.Version, Version)
	}
}

// applyDefaults fills fields the file leaves out (absent or null); explicit
// values, even zero ones, are kept and validated.
func (c *checker) applyDefaults() {
	f := c.file
	for i := range f.Connections {
		conn := &f.Connections[i]
		p := "connections[" + strconv.Itoa(i) + "]"
		if !c.present(p+".port") && !c.skip(p+".port") {
			conn.Port = DefaultPort(conn.DBType)
		}
		if !c.present(p + ".ssl_mode") {
			conn.SSLMode = DefaultSSLMode
		}
	}
	for i := range f.Storage {
		f.Storage[i].SetDefaults() // only fills empty strings
	}
	for i := range f.Schedules {
		s := &f.Schedules[i]
		p := "schedules[" + strconv.Itoa(i) + "]"
		if !c.present(p + ".backup_type") {
			s.BackupType = DefaultBackupType
		}
		if s.Enabled == nil {
			t := true
			s.Enabled = &t
		}
		if !c.present(p+".timeout") && !c.skip(p+".timeout") {
			s.Timeout = Duration(DefaultTimeout)
		}
		if s.RestoreTest != nil && !c.present(p+".restore_test.every") {
			s.RestoreTest.Every = 1
		}
	}
}

func (c *checker) checkSettings() {
	m := c.file.Settings.Map()
	c.fieldErrors("settings", "settings", ValidateSettings(m))
	if tz, ok := m["timezone"]; ok {
		c.loc, _ = LoadTimezone(tz)
	}
}

func (c *checker) checkEncryption() {
	if e := c.file.Encryption; e != nil {
		c.fieldErrors("encryption", "encryption", ValidateEncryption(*e))
	}
}

// unique reports a duplicate name; it returns false for duplicates.
func (c *checker) unique(seen map[string]int, kind, prefix, name string) bool {
	if name == "" || c.skip(prefix+".name") {
		return false
	}
	if first, dup := seen[name]; dup {
		c.errorAt(prefix+".name", "duplicate %s name %q (first defined at line %d)", kind, name, first)
		return false
	}
	seen[name], _ = c.pos(prefix + ".name")
	return true
}

// checkNamed validates each item of a named list (kind in messages, list
// its key in the file) and returns the items by name, the first of each
// name. each, when set, runs on every item after those checks.
func checkNamed[T any](c *checker, kind, list string, items []T, name func(T) string,
	validate func(T) []FieldError, each func(prefix, lbl string, item T)) map[string]T {
	byName := map[string]T{}
	seen := map[string]int{}
	for i, it := range items {
		prefix, lbl := label(kind, list, i, name(it))
		c.fieldErrors(prefix, lbl, validate(it))
		if c.unique(seen, kind, prefix, name(it)) {
			byName[name(it)] = it
		}
		if each != nil {
			each(prefix, lbl, it)
		}
	}
	return byName
}

func (c *checker) checkStorage() map[string]Storage {
	defaultAt := ""
	name := func(s Storage) string { return s.Name }
	return checkNamed(c, "storage", "storage", c.file.Storage, name, ValidateStorage, func(prefix, lbl string, s Storage) {
		if !s.IsDefault {
			return
		}
		if defaultAt != "" {
			c.errorAt(prefix+".is_default", "%s: is_default: only one storage may be the default (%s already is)", lbl, defaultAt)
			return
		}
		defaultAt = lbl
	})
}

func (c *checker) checkConnections() map[string]Connection {
	name := func(conn Connection) string { return conn.Name }
	return checkNamed(c, "connection", "connections", c.file.Connections, name, ValidateConnection, nil)
}

func (c *checker) checkNotifications() map[string]Notification {
	name := func(n Notification) string { return n.Name }
	return checkNamed(c, "notification", "notifications", c.file.Notifications, name, ValidateNotification, nil)
}
