package reconcile

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// desired is the state a config file asks for, as records without IDs or
// timestamps. IDs are resolved against the current state when planning.
type desired struct {
	settings      map[string]string // keys the file declares
	providers     []state.ProviderSpec
	connections   []state.ConnectionSpec
	databases     []desiredDB // connection name + db name
	notifications []state.NotificationSpec
	schedules     []desiredSchedule
	tokens        []state.TokenSpec // tokens.go
}

type desiredDB struct {
	connection string
	name       string
}

// desiredSchedule keeps references by name until IDs are known.
type desiredSchedule struct {
	spec          state.ScheduleSpec
	connection    string
	database      string
	storage       string
	notifications []string
	restoreConn   string
	copies        []config.CopyTarget // storage by name
}

// defaultPathStyle is the provider type's default when the file says nothing.
func defaultPathStyle(providerType string) bool {
	switch providerType {
	case "minio", "s3-compat":
		return true
	}
	return false
}

// buildDesired converts a validated file into desired records. The file's
// settings over the current ones supply defaults for schedule fields the
// file leaves out.
func buildDesired(f *config.File, current state.Settings, processKey bool) (*desired, error) {
	d := &desired{settings: f.Settings.Map()}
	settings := current.With(d.settings)

	for _, s := range f.Storage {
		ps := defaultPathStyle(s.ProviderType)
		if s.PathStyle != nil {
			ps = *s.PathStyle
		}
		p := state.ProviderSpec{
			Name: s.Name, ProviderType: s.ProviderType, Endpoint: s.Endpoint, Region: s.Region,
			Bucket: s.Bucket, Prefix: s.Prefix, Path: s.Path, AccessKey: s.AccessKey,
			SecretKey: state.Secret(s.SecretKey), PathStyle: ps, IsDefault: s.IsDefault,
		}
		if s.ObjectLock != nil {
			p.ObjectLock = state.ObjectLock{Mode: s.ObjectLock.Mode, Days: s.ObjectLock.Days}
		}
		d.providers = append(d.providers, p)
	}

	dbSeen := map[desiredDB]bool{}
	addDB := func(conn, name string) {
		k := desiredDB{conn, name}
		if !dbSeen[k] {
			dbSeen[k] = true
			d.databases = append(d.databases, k)
		}
	}
	for _, c := range f.Connections {
		d.connections = append(d.connections, state.ConnectionSpec{
			Name: c.Name, DBType: c.DBType, Host: c.Host, Port: c.Port,
			Username: c.Username, Password: state.Secret(c.Password), SSLMode: c.SSLMode,
			Physical:      physicalSpec(c.Physical),
			BinlogArchive: binlogArchiveSpec(c.BinlogArchive),
			WalArchive:    walArchiveSpec(c.WalArchive),
		})
		for _, db := range c.Databases {
			addDB(c.Name, db)
		}
	}

	for _, n := range f.Notifications {
		cfg := n.Config
		if cfg == nil {
			cfg = map[string]any{}
		}
		raw, err := json.Marshal(cfg)
		if err != nil {
			return nil, fmt.Errorf("notification %q: encode config: %w", n.Name, err)
		}
		d.notifications = append(d.notifications, state.NotificationSpec{
			Name: n.Name, NotifType: n.Type, ConfigJSON: state.Secret(raw), Events: nilIfEmpty(n.Events),
		})
	}

	encrypted := processKey || (f.Encryption != nil && len(f.Encryption.Keys) > 0)
	for _, s := range f.Schedules {
		addDB(s.Connection, s.Database)
		spec := state.ScheduleSpec{
			Name:              s.Name,
			BackupType:        orDefault(s.BackupType, "full"),
			CronExpr:          s.CronExpr,
			EncryptionEnabled: boolOr(s.EncryptionEnabled, encrypted),
			VerifyEnabled:     s.VerifyEnabled,
			RetentionFull:     intOr(s.RetentionFull, settings.RetentionFullDefault()),
			RetentionIncr:     intOr(s.RetentionIncr, settings.RetentionIncrDefault()),
			KeepDaily:         s.KeepDaily,
			KeepWeekly:        s.KeepWeekly,
			KeepMonthly:       s.KeepMonthly,
			KeepYearly:        s.KeepYearly,
			KeepWithin:        state.Duration(s.KeepWithin),
			NotifyOnSuccess:   boolOr(s.NotifyOnSuccess, settings.NotifyOnSuccess()),
			NotifyOnFailure:   boolOr(s.NotifyOnFailure, settings.NotifyOnFailure()),
			Enabled:           boolOr(s.Enabled, true),
			Timeout:           state.Duration(s.Timeout),
			MaxAge:            state.Duration(s.MaxAge),
		}
		ds := desiredSchedule{
			spec: spec, connection: s.Connection, database: s.Database,
			storage: s.Storage, notifications: s.Notifications, copies: s.CopiesTo,
		}
		if s.RestoreTest != nil {
			ds.restoreConn = s.RestoreTest.Connection
			ds.spec.RestoreTest = &state.RestoreTest{Every: s.RestoreTest.Every}
		}
		d.schedules = append(d.schedules, ds)
	}
	d.tokens = desiredTokens(f.Tokens)
	sort.Slice(d.databases, func(i, j int) bool {
		a, b := d.databases[i], d.databases[j]
		if a.connection != b.connection {
			return a.connection < b.connection
		}
		return a.name < b.name
	})
	return d, nil
}

// copyTarget is a copies_to entry of the file with its storage resolved.
func copyTarget(providerID string, c config.CopyTarget) state.CopyTarget {
	t := state.CopyTarget{StorageProviderID: providerID, KeepDaily: c.KeepDaily, KeepWeekly: c.KeepWeekly,
		KeepMonthly: c.KeepMonthly, KeepYearly: c.KeepYearly, KeepWithin: state.Duration(c.KeepWithin)}
	if c.RetentionFull != nil {
		t.RetentionFull = *c.RetentionFull
	}
	return t
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func boolOr(v *bool, def bool) bool {
	if v == nil {
		return def
	}
	return *v
}

func intOr(v *int, def int) int {
	if v == nil {
		return def
	}
	return *v
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

// physicalSpec is a connection's physical option in the store's terms.
func physicalSpec(p *config.Physical) *state.PhysicalSpec {
	if p == nil {
		return nil
	}
	return &state.PhysicalSpec{Datadir: p.Datadir}
}

func binlogArchiveSpec(a *config.BinlogArchive) *state.BinlogArchiveSpec {
	if a == nil {
		return nil
	}
	return &state.BinlogArchiveSpec{Enabled: a.Enabled, Storage: a.Storage}
}
