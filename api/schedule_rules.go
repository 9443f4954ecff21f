package api

// The schedule rules: the body of create and update and how it merges,
// the defaults and derived name of an API-made schedule, validation against
// the file's rules, and the enabled override on a file-managed schedule.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// scheduleInput is the body of create and update; absent fields keep their
// value on update. Response-only fields are accepted and ignored.
type scheduleInput struct {
	Name              *string         `json:"name"`
	ConnectionID      *string         `json:"connection_id"`
	DatabaseID        *string         `json:"database_id"`
	BackupType        *string         `json:"backup_type"`
	CronExpr          *string         `json:"cron_expr"`
	StorageProviderID *string         `json:"storage_provider_id"`
	EncryptionEnabled *bool           `json:"encryption_enabled"`
	EncryptionKeyID   *string         `json:"encryption_key_id"`
	VerifyEnabled     *bool           `json:"verify_enabled"`
	RetentionFull     *int            `json:"retention_full"`
	RetentionIncr     *int            `json:"retention_incr"`
	KeepDaily         *int            `json:"keep_daily"`
	KeepWeekly        *int            `json:"keep_weekly"`
	KeepMonthly       *int            `json:"keep_monthly"`
	KeepYearly        *int            `json:"keep_yearly"`
	KeepWithin        *string         `json:"keep_within"`
	NotifTargetIDs    *[]string       `json:"notif_target_ids"`
	NotifyOnSuccess   *bool           `json:"notify_on_success"`
	NotifyOnFailure   *bool           `json:"notify_on_failure"`
	Enabled           *bool           `json:"enabled"`
	Timeout           *string         `json:"timeout"`
	MaxAge            *string         `json:"max_age"`
	RestoreTest       json.RawMessage `json:"restore_test"` // null clears it
	CopiesTo          json.RawMessage `json:"copies_to"`    // null or [] clears it
	readOnly
	Override   json.RawMessage `json:"override"`
	NextRunAt  json.RawMessage `json:"next_run_at"`
	LastRunAt  json.RawMessage `json:"last_run_at"`
	LastStatus json.RawMessage `json:"last_status"`
}

// apply merges the sent fields into sc.
func (in scheduleInput) apply(sc *state.ScheduleSpec) error {
	setStr(&sc.Name, in.Name)
	setStr(&sc.ConnectionID, in.ConnectionID)
	setStr(&sc.DatabaseID, in.DatabaseID)
	setStr(&sc.BackupType, in.BackupType)
	setStr(&sc.CronExpr, in.CronExpr)
	setStr(&sc.StorageProviderID, in.StorageProviderID)
	setBool(&sc.EncryptionEnabled, in.EncryptionEnabled)
	setStr(&sc.EncryptionKeyID, in.EncryptionKeyID)
	setBool(&sc.VerifyEnabled, in.VerifyEnabled)
	setInt(&sc.RetentionFull, in.RetentionFull)
	setInt(&sc.RetentionIncr, in.RetentionIncr)
	setInt(&sc.KeepDaily, in.KeepDaily)
	setInt(&sc.KeepWeekly, in.KeepWeekly)
	setInt(&sc.KeepMonthly, in.KeepMonthly)
	setInt(&sc.KeepYearly, in.KeepYearly)
	if in.NotifTargetIDs != nil {
		sc.NotifTargetIDs = *in.NotifTargetIDs
	}
	setBool(&sc.NotifyOnSuccess, in.NotifyOnSuccess)
	setBool(&sc.NotifyOnFailure, in.NotifyOnFailure)
	setBool(&sc.Enabled, in.Enabled)
	for _, d := range []struct {
		field string
		in    *string
		dst   *state.Duration
	}{{"keep_within", in.KeepWithin, &sc.KeepWithin}, {"timeout", in.Timeout, &sc.Timeout}, {"max_age", in.MaxAge, &sc.MaxAge}} {
		if err := setDuration(d.field, d.dst, d.in); err != nil {
			return err
		}
	}
	if len(in.RestoreTest) > 0 {
		var rt *state.RestoreTest
		if err := json.Unmarshal(in.RestoreTest, &rt); err != nil {
			return fieldErr("restore_test", "expected an object with connection_id and every, or null")
		}
		sc.RestoreTest = rt
	}
	if len(in.CopiesTo) > 0 {
		var copies []state.CopyTarget
		if err := json.Unmarshal(in.CopiesTo, &copies); err != nil {
			return fieldErr("copies_to", "expected a list of provider IDs or objects with storage_provider_id, or null")
		}
		sc.CopiesTo = nil
		if len(copies) > 0 {
			sc.CopiesTo = copies
		}
	}
	return nil
}

func setDuration(field string, dst *state.Duration, src *string) error {
	if src == nil {
		return nil
	}
	if *src == "" {
		*dst = 0
		return nil
	}
	d, err := config.ParseDuration(*src)
	if err != nil {
		return fieldErr(field, "%s", err.Error())
	}
	*dst = state.Duration(d.Std())
	return nil
}

var scheduleRename = map[string]string{
	"connection": "connection_id", "database": "database_id", "storage": "storage_provider_id",
	"restore_test.connection": "restore_test.connection_id",
}

// validateSchedule checks the references against the store (400 naming the
// field) and the rest with the file's validator, filling the timeout default.
func validateSchedule(tx *state.Tx, sc *state.ScheduleSpec) error {
	if err := checkRefs(tx, refs{connection: sc.ConnectionID, database: sc.DatabaseID,
		provider: sc.StorageProviderID, notifs: sc.NotifTargetIDs}); err != nil {
		return err
	}
	fs, err := fileSchedule(tx, *sc)
	if err != nil {
		return err
	}
	if err := checkCopyPrimary(tx, *sc); err != nil {
		return err
	}
	fs.SetDefaults()
	sc.Timeout = state.Duration(fs.Timeout.Std())
	if err := checkPhysicalConn(tx, fs.BackupType, sc.ConnectionID); err != nil {
		return err
	}
	errs := config.ValidateSchedule(fs)
	for i := range errs {
		if f := errs[i].Field; strings.HasPrefix(f, "notifications[") {
			errs[i].Field = "notif_target_ids" + strings.TrimPrefix(f, "notifications")
		} else if strings.HasPrefix(f, "copies_to[") && strings.HasSuffix(f, ".storage") {
			errs[i].Field += "_provider_id"
		}
	}
	return fieldErrors(errs, scheduleRename)
}

// fileSchedule expresses sc in jagad.yaml terms (references by name).
func fileSchedule(tx *state.Tx, sc state.ScheduleSpec) (config.Schedule, error) {
	c, err := refRec[state.Connection](tx, "connection_id", sc.ConnectionID, wordConnection)
	if err != nil {
		return config.Schedule{}, err
	}
	d, err := refRec[state.Database](tx, "database_id", sc.DatabaseID, wordDatabase)
	if err != nil {
		return config.Schedule{}, err
	}
	fs := config.Schedule{
		Name: sc.Name, Connection: c.Name, Database: d.DBName, BackupType: sc.BackupType, CronExpr: sc.CronExpr,
		EncryptionEnabled: ptr(sc.EncryptionEnabled), VerifyEnabled: sc.VerifyEnabled,
		KeepDaily: sc.KeepDaily, KeepWeekly: sc.KeepWeekly, KeepMonthly: sc.KeepMonthly, KeepYearly: sc.KeepYearly,
		KeepWithin: config.Duration(sc.KeepWithin), NotifyOnSuccess: ptr(sc.NotifyOnSuccess),
		NotifyOnFailure: ptr(sc.NotifyOnFailure), Enabled: ptr(sc.Enabled), Timeout: config.Duration(sc.Timeout),
		MaxAge: config.Duration(sc.MaxAge),
	}
	if sc.RetentionFull != 0 {
		fs.RetentionFull = ptr(sc.RetentionFull)
	}
	if sc.RetentionIncr != 0 {
		fs.RetentionIncr = ptr(sc.RetentionIncr)
	}
	if sc.StorageProviderID != "" {
		p, err := refRec[state.Provider](tx, "storage_provider_id", sc.StorageProviderID, wordProvider)
		if err != nil {
			return config.Schedule{}, err
		}
		fs.Storage = p.Name
	}
	for i, id := range sc.NotifTargetIDs {
		n, err := refRec[state.Notification](tx, "notif_target_ids["+strconv.Itoa(i)+"]", id, wordNotification)
		if err != nil {
			return config.Schedule{}, err
		}
		fs.Notifications = append(fs.Notifications, n.Name)
	}
	for i, c := range sc.CopiesTo {
		p, err := refRec[state.Provider](tx, "copies_to["+strconv.Itoa(i)+"].storage_provider_id", c.StorageProviderID, wordProvider)
		if err != nil && c.StorageProviderID != "" {
			return config.Schedule{}, err
		}
		fs.CopiesTo = append(fs.CopiesTo, fileCopyTarget(p.Name, c))
	}
	if rt := sc.RestoreTest; rt != nil {
		rc, err := refRec[state.Connection](tx, "restore_test.connection_id", rt.ConnectionID, wordConnection)
		if err != nil {
			return config.Schedule{}, err
		}
		fs.RestoreTest = &config.RestoreTest{Connection: rc.Name, Every: rt.Every}
	}
	return fs, nil
}

func ptr[T any](v T) *T { return &v }

// fileCopyTarget is c in jagad.yaml terms, on the storage named name.
func fileCopyTarget(name string, c state.CopyTarget) config.CopyTarget {
	t := config.CopyTarget{Storage: name, KeepDaily: c.KeepDaily, KeepWeekly: c.KeepWeekly,
		KeepMonthly: c.KeepMonthly, KeepYearly: c.KeepYearly, KeepWithin: config.Duration(c.KeepWithin)}
	if c.RetentionFull != 0 {
		t.RetentionFull = ptr(c.RetentionFull)
	}
	return t
}

// checkCopyPrimary refuses a copy to the schedule's primary when the
// schedule names none (its primary is then the default provider; a named
// primary repeated is the file validator's error).
func checkCopyPrimary(tx *state.Tx, sc state.ScheduleSpec) error {
	if sc.StorageProviderID != "" || len(sc.CopiesTo) == 0 {
		return nil
	}
	all, err := state.List[state.Provider](tx)
	if err != nil {
		return fmt.Errorf("list providers: %w", err)
	}
	primary := ""
	for _, p := range all {
		if p.IsDefault {
			primary = p.ID
		}
	}
	if primary == "" && len(all) == 1 {
		primary = all[0].ID
	}
	for i, c := range sc.CopiesTo {
		if c.StorageProviderID == primary && primary != "" {
			return fieldErr("copies_to["+strconv.Itoa(i)+"].storage_provider_id",
				"%q is the default provider, which is this schedule's primary (it sets no storage_provider_id); copies_to lists the other destinations", primary)
		}
	}
	return nil
}

func schedKey(sc state.Schedule) (string, state.ManagedBy) { return sc.Name, sc.ManagedBy }

// scheduleDefaults fills what an API-made schedule omitted: retention and
// notify flags from the settings, enabled true, a derived unique name.
func scheduleDefaults(tx *state.Tx, sc *state.ScheduleSpec, in scheduleInput) error {
	st, err := tx.Settings()
	if err != nil {
		return fmt.Errorf("read settings: %w", err)
	}
	if sc.RetentionFull == 0 {
		sc.RetentionFull = st.RetentionFullDefault()
	}
	if sc.RetentionIncr == 0 {
		sc.RetentionIncr = st.RetentionIncrDefault()
	}
	if in.NotifyOnSuccess == nil {
		sc.NotifyOnSuccess = st.NotifyOnSuccess()
	}
	if in.NotifyOnFailure == nil {
		sc.NotifyOnFailure = st.NotifyOnFailure()
	}
	if in.Enabled == nil {
		sc.Enabled = true
	}
	if sc.BackupType == "" {
		sc.BackupType = config.DefaultBackupType
	}
	if sc.Name != "" {
		return nil
	}
	return deriveName(tx, sc)
}

// deriveName names a schedule "<connection>-<database>-<backup_type>",
// adding "-2", "-3"… until the name is free.
func deriveName(tx *state.Tx, sc *state.ScheduleSpec) error {
	c, err := refRec[state.Connection](tx, "connection_id", sc.ConnectionID, wordConnection)
	if err != nil {
		return err
	}
	d, err := refRec[state.Database](tx, "database_id", sc.DatabaseID, wordDatabase)
	if err != nil {
		return err
	}
	all, err := state.List[state.Schedule](tx)
	if err != nil {
		return fmt.Errorf("list schedules: %w", err)
	}
	taken := map[string]bool{}
	for _, o := range all {
		taken[o.Name] = true
	}
	base := c.Name + "-" + d.DBName + "-" + sc.BackupType
	sc.Name = base
	for i := 2; taken[sc.Name]; i++ {
		sc.Name = base + "-" + strconv.Itoa(i)
	}
	return nil
}

// overrideEnabled applies next to a file-managed schedule: only enabled may
// differ from the file's spec. Enabled equal to the file's value clears the override.
func overrideEnabled(tx *state.Tx, sc *state.Schedule, next state.ScheduleSpec) error {
	want := next.Enabled
	next.Enabled = sc.Enabled
	if !sameSpec(next, sc.ScheduleSpec) {
		return managedErr(wordSchedule, sc.Name)
	}
	if want == sc.Enabled {
		sc.Override = nil
	} else {
		sc.Override = &state.Override{Enabled: &want}
	}
	return state.Put(tx, *sc)
}

// sameSpec compares specs, treating nil and empty lists alike.
func sameSpec(a, b state.ScheduleSpec) bool {
	a.NotifTargetIDs, b.NotifTargetIDs = nonNil(a.NotifTargetIDs), nonNil(b.NotifTargetIDs)
	a.CopiesTo, b.CopiesTo = nonNil(a.CopiesTo), nonNil(b.CopiesTo)
	return reflect.DeepEqual(a, b)
}

// checkPhysicalConn refuses a physical or incremental backup type (400 on
// backup_type) when the connection cannot take physical backups.
func checkPhysicalConn(tx *state.Tx, backupType, connID string) error {
	if !config.IsPhysical(backupType) {
		return nil
	}
	c, err := refRec[state.Connection](tx, "connection_id", connID, wordConnection)
	if err != nil {
		return err
	}
	var p *config.Physical
	if c.Physical != nil {
		p = &config.Physical{Datadir: c.Physical.Datadir}
	}
	if err := config.CheckPhysical(backupType, c.Name, c.DBType, p); err != nil {
		return fieldErr("backup_type", "%s", err.Error())
	}
	return nil
}
