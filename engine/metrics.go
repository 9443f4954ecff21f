package engine

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/notify"
	"github.com/jagad/jagad/state"
)

// oneShot is the schedule label of backups that no schedule owns.
const oneShot = "oneshot"

// Metrics are the engine's Prometheus series. Labels carry names of
// schedules and connections, never IDs of backups.
type Metrics struct {
	backups        *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	lastSuccess    *prometheus.GaugeVec
	lastStatus     *prometheus.GaugeVec
	lastSize       *prometheus.GaugeVec
	running        prometheus.Gauge
	queued         prometheus.Gauge
	bytes          *prometheus.CounterVec
	nextRun        *prometheus.GaugeVec
	maxAge         *prometheus.GaugeVec
	created        *prometheus.GaugeVec
	skipped        *prometheus.CounterVec
	restores       *prometheus.CounterVec
	verifications  *prometheus.CounterVec
	drills         *prometheus.CounterVec
	retentionDel   prometheus.Counter
	retentionFail  prometheus.Counter
	notifications  *prometheus.CounterVec
	storageBytes   *prometheus.GaugeVec
	configResource *prometheus.GaugeVec
	copies         *copyMetrics // copies_metrics.go

	follow sync.Once         // one change-feed loop per engine
	mu     sync.Mutex        // guards known
	known  map[string]string // schedule ID → schedule label with series
}

func newMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		backups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_backups_total", Help: "Finished backups by schedule, database type, backup type and status.",
		}, []string{"schedule", "db_type", "backup_type", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "jagad_backup_duration_seconds", Help: "Duration of finished backups.",
			Buckets: []float64{1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 28800},
		}, []string{"schedule"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jagad_backup_last_success_timestamp_seconds", Help: "Unix time of the schedule's last successful backup (0: never).",
		}, []string{"schedule"}),
		lastStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jagad_backup_last_status", Help: "1 when the schedule's last backup succeeded, 0 when it failed, -1 before the first run.",
		}, []string{"schedule"}),
		lastSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jagad_backup_last_size_bytes", Help: "Size of the schedule's last successful backup: raw dump (stage=dump) and stored object (stage=stored).",
		}, []string{"schedule", "stage"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{Name: "jagad_backups_running", Help: "Backups running now."}),
		queued:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "jagad_backups_queued", Help: "Backups waiting for a slot."}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_backup_bytes_total", Help: "Bytes that backups have moved, counted as they stream (failed runs included): raw dump read from the tool (stage=dump) and bytes sent to storage (stage=stored).",
		}, []string{"stage"}),
		nextRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jagad_schedule_next_run_timestamp_seconds", Help: "Unix time of the schedule's next run (0: disabled).",
		}, []string{"schedule"}),
		maxAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jagad_schedule_max_age_seconds",
			Help: "Age past which the schedule's last success is too old: its max_age, or 1.5 × its longest cron interval + its timeout (0: unknown).",
		}, []string{"schedule"}),
		created: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jagad_schedule_created_timestamp_seconds",
			Help: "Unix time the schedule was created: a schedule that never succeeded is too old only once it is older than its max age.",
		}, []string{"schedule"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_schedule_runs_skipped_total", Help: "Ticks skipped because the schedule's previous run was still going.",
		}, []string{"schedule"}),
		restores: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_restores_total", Help: "Finished restores by status.",
		}, []string{"status"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_verifications_total", Help: "Finished verifications by result (passed, failed).",
		}, []string{"result"}),
		drills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_restore_drills_total", Help: "Restore drills by result (passed, failed).",
		}, []string{"result"}),
		retentionDel: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jagad_retention_deleted_total", Help: "Backups deleted by retention.",
		}),
		retentionFail: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jagad_retention_failures_total", Help: "Retention deletions that failed (retried at the next run).",
		}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_notifications_total", Help: "Notifications sent by channel type and result (sent, failed).",
		}, []string{"type", "result"}),
		storageBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jagad_storage_bytes", Help: "Bytes stored by successful backups, per storage provider.",
		}, []string{"provider"}),
		configResource: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jagad_config_resources", Help: "Resources in the store by kind and owner (file, api).",
		}, []string{"kind", "managed_by"}),
		known:  map[string]string{},
		copies: newCopyMetrics(reg),
	}
	for _, s := range []string{"passed", "failed"} {
		m.verifications.WithLabelValues(s)
		m.drills.WithLabelValues(s)
	}
	for _, s := range []string{state.StatusSuccess, state.StatusFailed} {
		m.restores.WithLabelValues(s)
	}
	for _, s := range []string{"dump", "stored"} {
		m.bytes.WithLabelValues(s)
	}
	// Every channel type starts at 0 so that increase() sees the first failure.
	for _, t := range []string{notify.TypeTelegram, notify.TypeDiscord, notify.TypeSlack, notify.TypeEmail, notify.TypeWebhook} {
		for _, r := range []string{"sent", "failed"} {
			m.notifications.WithLabelValues(t, r)
		}
	}
	reg.MustRegister(m.backups, m.duration, m.lastSuccess, m.lastStatus, m.lastSize, m.running, m.queued,
		m.bytes, m.nextRun, m.maxAge, m.created, m.skipped, m.restores, m.verifications, m.drills, m.retentionDel, m.retentionFail,
		m.notifications, m.storageBytes, m.configResource)
	return m
}

func scheduleLabel(name string) string {
	if name == "" {
		return oneShot
	}
	return name
}

// observeBackup records a finished backup.
func (m *Metrics) observeBackup(b state.Backup) {
	s := scheduleLabel(b.ScheduleName)
	m.backups.WithLabelValues(s, b.DBType, b.BackupType, b.Status).Inc()
	if b.DurationMs == 0 && b.Status != state.StatusSuccess {
		m.lastStatus.WithLabelValues(s).Set(0) // never ran (or interrupted): no duration to observe
		return
	}
	m.duration.WithLabelValues(s).Observe(float64(b.DurationMs) / 1000)
	if b.Status == state.StatusSuccess {
		m.lastStatus.WithLabelValues(s).Set(1)
		if b.CompletedAt != nil {
			m.lastSuccess.WithLabelValues(s).Set(float64(b.CompletedAt.Unix()))
		}
		m.lastSize.WithLabelValues(s, "dump").Set(float64(b.SizeBytes))
		m.lastSize.WithLabelValues(s, "stored").Set(float64(b.StoredSizeBytes))
	} else {
		m.lastStatus.WithLabelValues(s).Set(0)
	}
}

func (m *Metrics) initSchedule(tx *state.Tx, s state.Schedule) {
	name := scheduleLabel(s.Name)
	last, err := tx.ListBackups(state.BackupQuery{ScheduleID: s.ID, Limit: 50})
	status, success := -1.0, 0.0
	if err == nil {
		for i, b := range last {
			if i == 0 || status == -1 {
				switch b.Status {
				case state.StatusSuccess:
					status = 1
				case state.StatusFailed:
					status = 0
				}
			}
			if b.Status == state.StatusSuccess && b.CompletedAt != nil && success == 0 {
				success = float64(b.CompletedAt.Unix())
			}
		}
	}
	m.lastSuccess.WithLabelValues(name).Set(success)
	m.lastStatus.WithLabelValues(name).Set(status)
	m.skipped.WithLabelValues(name)
}

func (m *Metrics) refreshResources(tx *state.Tx) error {
	count := func(kind string, owners []state.ManagedBy) {
		n := map[state.ManagedBy]float64{state.ManagedByFile: 0, state.ManagedByAPI: 0}
		for _, o := range owners {
			n[o]++
		}
		for o, v := range n {
			m.configResource.WithLabelValues(kind, string(o)).Set(v)
		}
	}
	conns, err := state.List[state.Connection](tx)
	if err != nil {
		return err
	}
	count("connection", owners(conns, func(c state.Connection) state.ManagedBy { return c.ManagedBy }))
	provs, err := state.List[state.Provider](tx)
	if err != nil {
		return err
	}
	count("storage", owners(provs, func(c state.Provider) state.ManagedBy { return c.ManagedBy }))
	notifs, err := state.List[state.Notification](tx)
	if err != nil {
		return err
	}
	count("notification", owners(notifs, func(c state.Notification) state.ManagedBy { return c.ManagedBy }))
	scheds, err := state.List[state.Schedule](tx)
	if err != nil {
		return err
	}
	count("schedule", owners(scheds, func(c state.Schedule) state.ManagedBy { return c.ManagedBy }))
	toks, err := state.List[state.Token](tx)
	if err != nil {
		return err
	}
	count("token", owners(toks, func(c state.Token) state.ManagedBy { return c.ManagedBy }))
	return nil
}

func owners[T any](recs []T, f func(T) state.ManagedBy) []state.ManagedBy {
	out := make([]state.ManagedBy, len(recs))
	for i, r := range recs {
		out[i] = f(r)
	}
	return out
}

// refreshStorageBytes sets the stored bytes of successful backups per
// provider from the store's aggregate (no scan of the backups).
func (e *Engine) refreshStorageBytes() {
	sums := map[string]float64{}
	err := e.store.View(func(tx *state.Tx) error {
		provs, err := state.List[state.Provider](tx)
		if err != nil {
			return err
		}
		st, err := tx.BackupStats()
		if err != nil {
			return err
		}
		for _, p := range provs {
			sums[p.Name] += float64(st.StoredByProvider[p.ID])
		}
		return nil
	})
	if err != nil {
		e.log.Error("refresh storage metrics", "err", err)
		return
	}
	e.metrics.storageBytes.Reset()
	for n, v := range sums {
		e.metrics.storageBytes.WithLabelValues(n).Set(v)
	}
}
