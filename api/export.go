package api

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/julienschmidt/httprouter"
	"gopkg.in/yaml.v3"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// configExport is GET /api/config/export: the API-made resources (and
// API-set settings) as a jagad.yaml document, every secret replaced by a
// ${VAR} placeholder, ready to move into git.
func (s *server) configExport(_ *http.Request, _ httprouter.Params) (any, error) {
	var f config.File
	err := s.store.View(func(tx *state.Tx) (err error) {
		f, err = exportFile(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	b, err := marshalYAML(f)
	if err != nil {
		return nil, err
	}
	return streamer(func(w http.ResponseWriter) error {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="jagad.yaml"`)
		_, err := w.Write(b)
		return err
	}), nil
}

// envName turns parts into a placeholder variable name: CONN_PROD_PG_PASSWORD.
func envName(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('_')
		}
		for _, r := range strings.ToUpper(p) {
			if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
	}
	return "${" + b.String() + "}"
}

func exportFile(tx *state.Tx) (config.File, error) {
	f := config.File{Version: config.Version}
	var err error
	if f.Settings, err = exportSettings(tx); err != nil {
		return f, err
	}
	names := map[string]string{} // id → name, for references
	provs, err := state.List[state.Provider](tx)
	if err != nil {
		return f, fmt.Errorf("list storage providers: %w", err)
	}
	for _, p := range provs {
		names[p.ID] = p.Name
		if p.ManagedBy == state.ManagedByAPI {
			f.Storage = append(f.Storage, exportProvider(p))
		}
	}
	conns, err := state.List[state.Connection](tx)
	if err != nil {
		return f, fmt.Errorf("list connections: %w", err)
	}
	dbs, err := state.List[state.Database](tx)
	if err != nil {
		return f, fmt.Errorf("list databases: %w", err)
	}
	for _, d := range dbs {
		names[d.ID] = d.DBName
	}
	for _, c := range conns {
		names[c.ID] = c.Name
		if c.ManagedBy == state.ManagedByAPI {
			f.Connections = append(f.Connections, exportConnection(c, dbs))
		}
	}
	notifs, err := state.List[state.Notification](tx)
	if err != nil {
		return f, fmt.Errorf("list notifications: %w", err)
	}
	for _, n := range notifs {
		names[n.ID] = n.Name
		if n.ManagedBy == state.ManagedByAPI {
			f.Notifications = append(f.Notifications, exportNotification(n))
		}
	}
	scheds, err := state.List[state.Schedule](tx)
	if err != nil {
		return f, fmt.Errorf("list schedules: %w", err)
	}
	for _, sc := range scheds {
		if sc.ManagedBy == state.ManagedByAPI {
			f.Schedules = append(f.Schedules, exportSchedule(sc, names))
		}
	}
	if f.Tokens, err = exportTokens(tx); err != nil { // tokens.go
		return f, err
	}
	return f, nil
}

// exportSettings exports the settings set through the API that differ from
// the defaults (file-set keys already live in the file).
func exportSettings(tx *state.Tx) (config.Settings, error) {
	st, err := tx.Settings()
	if err != nil {
		return config.Settings{}, fmt.Errorf("read settings: %w", err)
	}
	return config.SettingsFromMap(st.Overrides()), nil
}

func exportProvider(p state.Provider) config.Storage {
	out := config.Storage{Name: p.Name, ProviderType: p.ProviderType, Path: p.Path, Endpoint: p.Endpoint,
		Region: p.Region, Bucket: p.Bucket, Prefix: p.Prefix, IsDefault: p.IsDefault}
	if config.IsS3Family(p.ProviderType) {
		out.PathStyle = ptr(p.PathStyle)
	}
	if p.ObjectLock != (state.ObjectLock{}) {
		out.ObjectLock = &config.ObjectLock{Mode: p.ObjectLock.Mode, Days: p.ObjectLock.Days}
	}
	if p.AccessKey != "" {
		out.AccessKey = envName("STORAGE", p.Name, "ACCESS_KEY")
	}
	if p.SecretKey != "" {
		out.SecretKey = envName("STORAGE", p.Name, "SECRET_KEY")
	}
	return out
}

func exportConnection(c state.Connection, dbs []state.Database) config.Connection {
	out := config.Connection{Name: c.Name, DBType: c.DBType, Host: c.Host, Port: c.Port,
		Username: c.Username, SSLMode: c.SSLMode}
	if c.Physical != nil {
		out.Physical = &config.Physical{Datadir: c.Physical.Datadir}
	}
	if a := c.BinlogArchive; a != nil {
		out.BinlogArchive = &config.BinlogArchive{Enabled: a.Enabled, Storage: a.Storage}
	}
	if w := c.WalArchive; w != nil {
		out.WalArchive = &config.WalArchive{Enabled: w.Enabled, Storage: w.Storage, SpoolMaxBytes: w.SpoolMaxBytes}
	}
	if c.Password != "" {
		out.Password = envName("CONN", c.Name, "PASSWORD")
	}
	for _, d := range dbs {
		if d.ConnectionID == c.ID && d.IsSelected {
			out.Databases = append(out.Databases, d.DBName)
		}
	}
	slices.Sort(out.Databases)
	return out
}

func exportNotification(n state.Notification) config.Notification {
	cfg := parseConfig(n.ConfigJSON)
	for _, k := range config.SecretConfigKeys(n.NotifType) {
		switch v := cfg[k].(type) {
		case string:
			if v != "" {
				cfg[k] = envName("NOTIF", n.Name, k)
			}
		case map[string]any:
			for h := range v {
				v[h] = envName("NOTIF", n.Name, "HEADER", h)
			}
		}
	}
	return config.Notification{Name: n.Name, Type: n.NotifType, Config: cfg, Events: n.Events}
}

func exportSchedule(sc state.Schedule, names map[string]string) config.Schedule {
	out := config.Schedule{
		Name: sc.Name, Connection: names[sc.ConnectionID], Database: names[sc.DatabaseID],
		BackupType: sc.BackupType, CronExpr: sc.CronExpr, Storage: names[sc.StorageProviderID],
		EncryptionEnabled: ptr(sc.EncryptionEnabled), VerifyEnabled: sc.VerifyEnabled,
		KeepDaily: sc.KeepDaily, KeepWeekly: sc.KeepWeekly, KeepMonthly: sc.KeepMonthly, KeepYearly: sc.KeepYearly,
		KeepWithin: config.Duration(sc.KeepWithin), NotifyOnSuccess: ptr(sc.NotifyOnSuccess),
		NotifyOnFailure: ptr(sc.NotifyOnFailure), Enabled: ptr(sc.Enabled), Timeout: config.Duration(sc.Timeout),
		MaxAge: config.Duration(sc.MaxAge),
	}
	if sc.RetentionFull > 0 {
		out.RetentionFull = ptr(sc.RetentionFull)
	}
	if sc.RetentionIncr > 0 {
		out.RetentionIncr = ptr(sc.RetentionIncr)
	}
	for _, id := range sc.NotifTargetIDs {
		if n := names[id]; n != "" {
			out.Notifications = append(out.Notifications, n)
		}
	}
	if rt := sc.RestoreTest; rt != nil && names[rt.ConnectionID] != "" {
		out.RestoreTest = &config.RestoreTest{Connection: names[rt.ConnectionID], Every: rt.Every}
	}
	for _, c := range sc.CopiesTo {
		if n := names[c.StorageProviderID]; n != "" {
			out.CopiesTo = append(out.CopiesTo, fileCopyTarget(n, c))
		}
	}
	return out
}

// keepFalse are keys whose false/zero value means something (explicit
// pointer fields); every other zero value is left out of the export.
var keepFalse = []string{"enabled", "path_style", "notify_on_success", "notify_on_failure", "encryption_enabled"}

// marshalYAML encodes v and drops empty and zero values, so the export reads
// like a hand-written file.
func marshalYAML(v any) ([]byte, error) {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil, fmt.Errorf("encode export: %w", err)
	}
	prune(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("encode export: %w", err)
	}
	return buf.Bytes(), nil
}

func prune(n *yaml.Node) {
	for _, c := range n.Content {
		prune(c)
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isZeroNode(v) && !(slices.Contains(keepFalse, k.Value) && v.Value == "false") {
			continue
		}
		kept = append(kept, k, v)
	}
	n.Content = kept
}

func isZeroNode(v *yaml.Node) bool {
	switch v.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		return len(v.Content) == 0
	case yaml.ScalarNode:
		switch v.Tag {
		case "!!null":
			return true
		case "!!bool":
			return v.Value == "false"
		case "!!int":
			return v.Value == "0"
		case "!!str":
			return v.Value == "" || v.Value == "0s"
		}
	}
	return false
}
