package reconcile

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

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
}

// defaultPathStyle is the provider type's default when the file says nothing.
func defaultPathStyle(providerType string) bool {
	switch providerType {
	case "minio", "s3-compat":
		return true
	}
	return false
}

// settingsMap turns the declared settings into the API's string map.
func settingsMap(s config.Settings) map[string]string {
	m := map[string]string{}
	putStr := func(k string, v *string) {
		if v != nil {
			m[k] = *v
		}
	}
	putInt := func(k string, v *int) {
		if v != nil {
			m[k] = strconv.Itoa(*v)
		}
	}
	putBool := func(k string, v *bool) {
		if v != nil {
			m[k] = strconv.FormatBool(*v)
		}
	}
	putStr("timezone", s.Timezone)
	putInt("concurrent_backups", s.ConcurrentBackups)
	putStr("compression", s.Compression)
	putInt("retention_full_default", s.RetentionFullDefault)
	putInt("retention_incr_default", s.RetentionIncrDefault)
	putBool("notify_on_success", s.NotifyOnSuccess)
	putBool("notify_on_failure", s.NotifyOnFailure)
	putStr("pg_dump_path", s.PgDumpPath)
	putStr("pg_restore_path", s.PgRestorePath)
	putStr("mysqldump_path", s.MysqldumpPath)
	putStr("mysql_path", s.MysqlPath)
	return m
}

// buildDesired converts a validated file into desired records. current
// settings supply defaults for schedule fields the file leaves out.
func buildDesired(f *config.File, current map[string]string, processKey bool) (*desired, error) {
	d := &desired{settings: settingsMap(f.Settings)}
	setting := func(k string) string {
		if v, ok := d.settings[k]; ok {
			return v
		}
		if v, ok := current[k]; ok {
			return v
		}
		return state.DefaultSettings[k]
	}

	for _, s := range f.Storage {
		ps := defaultPathStyle(s.ProviderType)
		if s.PathStyle != nil {
			ps = *s.PathStyle
		}
		d.providers = append(d.providers, state.ProviderSpec{
			Name: s.Name, ProviderType: s.ProviderType, Endpoint: s.Endpoint, Region: s.Region,
			Bucket: s.Bucket, Prefix: s.Prefix, Path: s.Path, AccessKey: s.AccessKey,
			SecretKey: state.Secret(s.SecretKey), PathStyle: ps, IsDefault: s.IsDefault,
		})
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
			RetentionFull:     intOr(s.RetentionFull, atoi(setting("retention_full_default"))),
			RetentionIncr:     intOr(s.RetentionIncr, atoi(setting("retention_incr_default"))),
			KeepDaily:         s.KeepDaily,
			KeepWeekly:        s.KeepWeekly,
			KeepMonthly:       s.KeepMonthly,
			KeepYearly:        s.KeepYearly,
			KeepWithin:        state.Duration(s.KeepWithin),
			NotifyOnSuccess:   boolOr(s.NotifyOnSuccess, setting("notify_on_success") == "true"),
			NotifyOnFailure:   boolOr(s.NotifyOnFailure, setting("notify_on_failure") == "true"),
			Enabled:           boolOr(s.Enabled, true),
			Timeout:           state.Duration(s.Timeout),
			MaxAge:            state.Duration(s.MaxAge),
		}
		ds := desiredSchedule{
			spec: spec, connection: s.Connection, database: s.Database,
			storage: s.Storage, notifications: s.Notifications,
		}
		if s.RestoreTest != nil {
			ds.restoreConn = s.RestoreTest.Connection
			ds.spec.RestoreTest = &state.RestoreTest{Every: s.RestoreTest.Every}
		}
		d.schedules = append(d.schedules, ds)
	}
	sort.Slice(d.databases, func(i, j int) bool {
		a, b := d.databases[i], d.databases[j]
		if a.connection != b.connection {
			return a.connection < b.connection
		}
		return a.name < b.name
	})
	return d, nil
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

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}
