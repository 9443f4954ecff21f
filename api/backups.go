package api

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// List limits of GET /api/backups.
const (
	defaultLimit = 50
	maxLimit     = 100
)

// backupView is a backup as the API shows it.
type backupView struct {
	ID                 string           `json:"id"`
	ConnectionID       string           `json:"connection_id"`
	DatabaseID         string           `json:"database_id"`
	ScheduleID         string           `json:"schedule_id"`
	ConnectionName     string           `json:"connection_name"`
	DatabaseName       string           `json:"database_name"`
	ScheduleName       string           `json:"schedule_name"`
	DBType             string           `json:"db_type"`
	BackupType         string           `json:"backup_type"`
	Status             string           `json:"status"`
	StoragePath        string           `json:"storage_path"`
	StorageProviderID  string           `json:"storage_provider_id"`
	SizeBytes          int64            `json:"size_bytes"`
	StoredSizeBytes    int64            `json:"stored_size_bytes"`
	EncryptedSizeBytes int64            `json:"encrypted_size_bytes"`
	EncryptionAlgo     string           `json:"encryption_algo"`
	EncryptionKeyID    string           `json:"encryption_key_id"`
	Compression        string           `json:"compression"`
	Checksum           string           `json:"checksum"`
	EncryptedChecksum  string           `json:"encrypted_checksum"`
	VerifyStatus       string           `json:"verify_status"`
	VerifiedAt         *time.Time       `json:"verified_at"`
	VerifyMode         string           `json:"verify_mode,omitempty"`
	DurationMs         int64            `json:"duration_ms"`
	LogOutput          string           `json:"log_output"`
	QueuedAt           *time.Time       `json:"queued_at"`
	StartedAt          *time.Time       `json:"started_at"`
	CompletedAt        *time.Time       `json:"completed_at"`
	CreatedAt          time.Time        `json:"created_at"`
	NotifTargetIDs     []string         `json:"notif_target_ids"`
	NotifyOnSuccess    bool             `json:"notify_on_success"`
	NotifyOnFailure    bool             `json:"notify_on_failure"`
	ToolVersion        string           `json:"tool_version,omitempty"`
	ServerVersion      string           `json:"server_version,omitempty"`
	Tables             map[string]int64 `json:"tables,omitempty"`
	RetentionError     string           `json:"retention_error,omitempty"`
	// Physical chains (backup_type physical or incremental).
	FromLSN    uint64 `json:"from_lsn,omitempty"`
	ToLSN      uint64 `json:"to_lsn,omitempty"`
	ChainID    string `json:"chain_id,omitempty"`
	ParentID   string `json:"parent_id,omitempty"`
	ChainNote  string `json:"chain_note,omitempty"`
	BinlogFile string `json:"binlog_file,omitempty"`
	BinlogPos  uint64 `json:"binlog_pos,omitempty"`
	// Physical: a PostgreSQL base backup's start and stop LSN, timeline
	// and system identifier.
	Physical *state.PhysicalInfo `json:"physical,omitempty"`
	// Replicas are the copies of the object, the primary first; a record
	// made before several destinations shows its primary alone.
	Replicas []state.Replica `json:"replicas"`
}

func viewBackup(b state.Backup) backupView {
	return backupView{
		ID: b.ID, ConnectionID: b.ConnectionID, DatabaseID: b.DatabaseID, ScheduleID: b.ScheduleID,
		ConnectionName: b.ConnectionName, DatabaseName: b.DatabaseName, ScheduleName: b.ScheduleName,
		DBType: b.DBType, BackupType: b.BackupType, Status: b.Status, StoragePath: b.StoragePath,
		StorageProviderID: b.StorageProviderID, SizeBytes: b.SizeBytes, StoredSizeBytes: b.StoredSizeBytes,
		EncryptedSizeBytes: b.EncryptedSizeBytes, EncryptionAlgo: b.EncryptionAlgo, EncryptionKeyID: b.EncryptionKeyID,
		Compression: b.Compression, Checksum: b.Checksum, EncryptedChecksum: b.EncryptedChecksum,
		VerifyStatus: b.VerifyStatus, VerifiedAt: b.VerifiedAt, VerifyMode: b.VerifyMode, DurationMs: b.DurationMs,
		LogOutput: b.LogOutput, QueuedAt: b.QueuedAt, StartedAt: b.StartedAt, CompletedAt: b.CompletedAt,
		CreatedAt: b.CreatedAt, NotifTargetIDs: nonNil(b.NotifTargetIDs), NotifyOnSuccess: b.NotifyOnSuccess,
		NotifyOnFailure: b.NotifyOnFailure, ToolVersion: b.ToolVersion, ServerVersion: b.ServerVersion,
		Tables: b.Tables, RetentionError: b.RetentionError, Replicas: nonNil(b.Copies()),
		FromLSN: b.FromLSN, ToLSN: b.ToLSN, ChainID: b.ChainID, ParentID: b.ParentID, ChainNote: b.ChainNote,
		BinlogFile: b.BinlogFile, BinlogPos: b.BinlogPos, Physical: b.Physical,
	}
}

// queryInt reads a non-negative integer query parameter.
func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fault.Errorf(fault.CodeInvalid, "invalid value for query parameter %q: expected a non-negative integer", name)
	}
	return n, nil
}

// listBackups is GET /api/backups: newest first, limit 50 by default, at most
// 100 (the reference's own paging, unlike the other lists' cap of maxUnpaged),
// with the filtered total in X-Total-Count.
func (s *server) listBackups(r *http.Request, _ httprouter.Params) (any, error) {
	limit, err := queryInt(r, "limit", defaultLimit)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	offset, err := queryInt(r, "offset", 0)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	bq := state.BackupQuery{
		ConnectionID: q.Get("connection_id"), DatabaseID: q.Get("database_id"),
		ScheduleID: q.Get("schedule_id"), Status: q.Get("status"), BackupType: q.Get("backup_type"),
		Limit: limit, Offset: offset,
	}
	var list []state.Backup
	var total int
	err = s.store.View(func(tx *state.Tx) (err error) {
		if list, err = tx.ListBackups(bq); err != nil {
			return err
		}
		n, err := tx.CountBackups(bq)
		total = int(n)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	out := make([]backupView, 0, len(list))
	for _, b := range list {
		out = append(out, viewBackup(b))
	}
	return listPage{items: out, total: total}, nil
}

// statsView is GET /api/backups/stats: the reference's shape, with the
// WAL archived since each PostgreSQL connection's newest base backup
// counted in by_type.incremental (PostgreSQL's incremental is that WAL
// stream) and detailed in incremental_wal.
type statsView struct {
	state.BackupStats
	IncrementalWAL []engine.WALSpan `json:"incremental_wal"`
}

func (s *server) backupStats(ctx context.Context) (any, error) {
	var st state.BackupStats
	err := s.store.View(func(tx *state.Tx) (err error) {
		st, err = tx.BackupStats()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("backup stats: %w", err)
	}
	if st.ByType == nil {
		st.ByType = map[string]int64{}
	}
	if st.ByStatus == nil {
		st.ByStatus = map[string]int64{}
	}
	spans, err := s.engine.WALIncrementals(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup stats: WAL archives: %w", err)
	}
	for _, sp := range spans {
		if sp.Segments > 0 {
			st.ByType[engine.TypeIncremental] += int64(sp.Segments)
		}
	}
	return statsView{BackupStats: st, IncrementalWAL: nonNil(spans)}, nil
}

func (s *server) readBackup(id string) (state.Backup, error) {
	var b state.Backup
	err := s.store.View(func(tx *state.Tx) (err error) {
		b, err = getRec[state.Backup](tx, id, wordBackup)
		return err
	})
	return b, err
}

// getBackup is GET /api/backups/{id}, and GET /api/backups/stats.
func (s *server) getBackup(r *http.Request, p httprouter.Params) (any, error) {
	if p.ByName("id") == "stats" {
		return s.backupStats(r.Context())
	}
	b, err := s.readBackup(p.ByName("id"))
	if err != nil {
		return nil, err
	}
	v := s.liveBackup(b)
	if v.WALSpan, err = s.engine.WALSpanOf(r.Context(), b); err != nil {
		s.log.Warn("WAL span of a base backup", "backup", b.ID, "err", err) // the backup shows without it
	}
	return v, nil
}

type backupInput struct {
	ConnectionID      string   `json:"connection_id"`
	DatabaseID        string   `json:"database_id"`
	BackupType        string   `json:"backup_type"`
	ScheduleID        string   `json:"schedule_id"`
	StorageProviderID string   `json:"storage_provider_id"`
	NotifTargetIDs    []string `json:"notif_target_ids"`
	NotifyOnSuccess   *bool    `json:"notify_on_success"`
	NotifyOnFailure   *bool    `json:"notify_on_failure"`
}

// createBackup starts a one-shot backup (201 with the new record).
func (s *server) createBackup(r *http.Request, _ httprouter.Params) (any, error) {
	var in backupInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	req := engine.BackupRequest{
		ConnectionID: in.ConnectionID, DatabaseID: in.DatabaseID, BackupType: in.BackupType,
		ScheduleID: in.ScheduleID, StorageProviderID: in.StorageProviderID, NotifTargetIDs: in.NotifTargetIDs,
		NotifyOnSuccess: true, NotifyOnFailure: true,
	}
	setBool(&req.NotifyOnSuccess, in.NotifyOnSuccess)
	setBool(&req.NotifyOnFailure, in.NotifyOnFailure)
	if req.BackupType == "" {
		req.BackupType = config.DefaultBackupType
	}
	if err := config.CheckBackupType(req.BackupType); err != nil {
		return nil, fieldErr("backup_type", "%s", err.Error())
	}
	err := s.store.View(func(tx *state.Tx) error {
		if err := checkRefs(tx, refs{connection: req.ConnectionID, database: req.DatabaseID, schedule: req.ScheduleID,
			provider: req.StorageProviderID, notifs: req.NotifTargetIDs}); err != nil {
			return err
		}
		return checkPhysicalConn(tx, req.BackupType, req.ConnectionID)
	})
	if err != nil {
		return nil, err
	}
	b, err := s.engine.StartBackup(r.Context(), req)
	if err != nil {
		return nil, err
	}
	return created(viewBackup(b)), nil
}

// deleteBackup is DELETE /api/backups/{id}: 409 naming the dependants of a
// chain link others need, unless ?force=true (chains.go).
func (s *server) deleteBackup(r *http.Request, p httprouter.Params) (any, error) {
	force, err := forceParam(r)
	if err != nil {
		return nil, err
	}
	err = s.store.View(func(tx *state.Tx) error {
		b, err := getRec[state.Backup](tx, p.ByName("id"), wordBackup)
		if err != nil || force {
			return err
		}
		why, err := chainDependants(tx, b)
		if err == nil && why != "" {
			err = fault.Conflict(why)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.engine.DeleteBackup(r.Context(), p.ByName("id")); err != nil {
		return nil, err
	}
	return noContent, nil
}

type logResponse struct {
	Log string `json:"log"`
}

func (s *server) backupLogs(_ *http.Request, p httprouter.Params) (any, error) {
	b, err := s.readBackup(p.ByName("id"))
	if err != nil {
		return nil, err
	}
	return logResponse{Log: b.LogOutput}, nil
}

// downloadBackup streams the stored object as an attachment named after its
// storage path.
func (s *server) downloadBackup(r *http.Request, p httprouter.Params) (any, error) {
	b, err := s.readBackup(p.ByName("id"))
	if err != nil {
		return nil, err
	}
	if b.Status != state.StatusSuccess {
		return nil, fault.Conflict(fmt.Sprintf("backup %s has no complete object (status %s)", b.ID, b.Status))
	}
	rc, size, err := s.engine.OpenBackup(r.Context(), b.ID)
	if err != nil {
		return nil, err
	}
	name := path.Base(b.StoragePath)
	if name == "." || name == "/" || name == "" {
		name = b.ID
	}
	return streamer(func(w http.ResponseWriter) error {
		defer rc.Close()
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		if size >= 0 {
			h.Set("Content-Length", strconv.FormatInt(size, 10))
		}
		w.WriteHeader(http.StatusOK)
		if _, err := io.Copy(w, rc); err != nil {
			return fmt.Errorf("stream backup %s: %w", b.ID, err)
		}
		return nil
	}), nil
}

type verifyResponse struct {
	Status   string `json:"status"`
	BackupID string `json:"backup_id"`
}

// verifyInput is the optional body of POST /api/backups/{id}/verify.
type verifyInput struct {
	Mode string `json:"mode"` // "quick", "deep"; "" (or no body): deep
}

// verifyBackup starts an asynchronous verification of a successful backup.
// Without a body (or without mode) it is deep, as it always was: deep when
// the backup's key is available, quick otherwise; the mode that ran is
// recorded in verify_mode.
func (s *server) verifyBackup(r *http.Request, p httprouter.Params) (any, error) {
	var in verifyInput
	if err := decodeOptional(r, &in); err != nil {
		return nil, err
	}
	switch in.Mode {
	case "", engine.VerifyQuick, engine.VerifyDeep:
	default:
		return nil, fieldErr("mode", "unsupported value %q; supported: %s, %s", in.Mode, engine.VerifyQuick, engine.VerifyDeep)
	}
	b, err := s.readBackup(p.ByName("id"))
	if err != nil {
		return nil, err
	}
	if b.Status != state.StatusSuccess {
		return nil, fault.Invalid("cannot verify backup with status: " + b.Status)
	}
	if err := s.engine.Verify(r.Context(), b.ID, in.Mode != engine.VerifyQuick); err != nil {
		return nil, err
	}
	return verifyResponse{Status: state.VerifyVerifying, BackupID: b.ID}, nil
}
