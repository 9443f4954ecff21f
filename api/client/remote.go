package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jagad/jagad/api"
)

// Error is an answer of the daemon that is not a success: its HTTP status
// and the {"error": ...} message.
type Error struct {
	Status  int
	Message string
	Path    string
}

func (e *Error) Error() string {
	switch {
	case e.Status == http.StatusUnauthorized:
		msg := e.Message
		if msg == "" {
			msg = "unauthorized"
		}
		return fmt.Sprintf("%s (HTTP 401): the token is missing, wrong, revoked or expired; run 'jagad login' or set JAGAD_TOKEN", msg)
	case e.Message != "":
		return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
	default:
		return fmt.Sprintf("HTTP %d from %s", e.Status, e.Path)
	}
}

// StatusOf returns the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// Base returns the daemon address the client talks to.
func (c *Client) Base() string { return c.base }

// call sends one request with an optional JSON body and returns the body
// of a 2xx answer; any other status is an *Error.
func (c *Client) call(ctx context.Context, method, path string, in any) ([]byte, error) {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request of %s: %w", path, err)
		}
		body = b
	}
	resp, err := c.open(ctx, method, path, "application/json", body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read response of %s: %w", path, err)
	}
	return data, nil
}

// open sends a request and returns a 2xx response with its body unread;
// any other status is an *Error (body consumed and closed).
func (c *Client) open(ctx context.Context, method, path, ctype string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := &Error{Status: resp.StatusCode, Path: path}
	var m struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &m) == nil {
		e.Message = m.Error
	}
	return nil, e
}

// send sends req with the client's token. A transport error names the
// daemon's base address, not the request's URL, which may carry credentials.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if u := errors.Unwrap(err); u != nil { // drop the URL, which may carry credentials
			err = u
		}
		return nil, fmt.Errorf("reach jagad at %s: %w", c.base, err)
	}
	return resp, nil
}

// fetch sends a request and decodes the answer into a T; it also returns
// the answer as sent, for --json.
func fetch[T any](ctx context.Context, c *Client, method, path string, in any) (T, json.RawMessage, error) {
	var v T
	data, err := c.call(ctx, method, path, in)
	if err != nil {
		return v, nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return v, nil, nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, nil, fmt.Errorf("decode response of %s: %w", path, err)
	}
	return v, json.RawMessage(data), nil
}

// Health is GET /api/health.
type Health struct {
	Status        string `json:"status"`
	Version       string `json:"version"`
	Encryption    bool   `json:"encryption"`
	Providers     bool   `json:"providers"`
	LegacyStorage bool   `json:"legacy_storage"`
	Ready         bool   `json:"ready"`
	Reason        string `json:"reason,omitempty"`
}

// Health asks the daemon how it is. A not-ready daemon answers 503 with the
// same body, which is returned without an error.
func (c *Client) Health(ctx context.Context) (Health, json.RawMessage, error) {
	h, raw, err := fetch[Health](ctx, c, http.MethodGet, "/api/health", nil)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusServiceUnavailable {
		resp, err2 := c.http.Get(c.base + "/api/health")
		if err2 == nil {
			defer resp.Body.Close()
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if json.Unmarshal(data, &h) == nil {
				return h, data, nil
			}
		}
	}
	return h, raw, err
}

// Session is GET /api/auth/check: who the credentials are and until when.
type Session struct {
	User    string    `json:"user"`
	Expires time.Time `json:"expires"`
}

// Check asks who the client's credentials are.
func (c *Client) Check(ctx context.Context) (Session, json.RawMessage, error) {
	return fetch[Session](ctx, c, http.MethodGet, "/api/auth/check", nil)
}

// Login logs in as user and returns the session token; the client uses it
// from then on.
func (c *Client) Login(ctx context.Context, user, pass string) (string, error) {
	c.user, c.pass = user, pass
	defer func() { c.pass = "" }()
	out, _, err := fetch[struct {
		Token string `json:"token"`
	}](ctx, c, http.MethodPost, "/api/auth/login", map[string]string{"username": user, "password": pass})
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	if out.Token == "" {
		return "", errors.New("login: the daemon answered without a token")
	}
	c.token = out.Token
	return out.Token, nil
}

// Progress is the live progress of a running job (engine.Progress).
type Progress struct {
	ID                  string   `json:"id"`
	Kind                string   `json:"kind"`
	Phase               string   `json:"phase"`
	BytesRead           int64    `json:"bytes_read"`
	BytesStored         int64    `json:"bytes_stored"`
	RateBytesPerSec     float64  `json:"rate_bytes_per_sec"`
	ElapsedMs           int64    `json:"elapsed_ms"`
	EstimatedTotalBytes int64    `json:"estimated_total_bytes,omitempty"`
	Percent             *float64 `json:"percent,omitempty"`
	Label               string   `json:"label,omitempty"`
}

// Backup is a backup record as GET /api/backups shows it (the fields the
// CLI uses; --json prints the daemon's answer unchanged).
type Backup struct {
	ID                 string     `json:"id"`
	ConnectionID       string     `json:"connection_id"`
	DatabaseID         string     `json:"database_id"`
	ScheduleID         string     `json:"schedule_id"`
	ConnectionName     string     `json:"connection_name"`
	DatabaseName       string     `json:"database_name"`
	ScheduleName       string     `json:"schedule_name"`
	DBType             string     `json:"db_type"`
	BackupType         string     `json:"backup_type"`
	Status             string     `json:"status"`
	StoragePath        string     `json:"storage_path"`
	StorageProviderID  string     `json:"storage_provider_id"`
	SizeBytes          int64      `json:"size_bytes"`
	StoredSizeBytes    int64      `json:"stored_size_bytes"`
	EncryptedSizeBytes int64      `json:"encrypted_size_bytes"`
	EncryptionAlgo     string     `json:"encryption_algo"`
	Compression        string     `json:"compression"`
	Checksum           string     `json:"checksum"`
	EncryptedChecksum  string     `json:"encrypted_checksum"`
	VerifyStatus       string     `json:"verify_status"`
	VerifiedAt         *time.Time `json:"verified_at"`
	VerifyMode         string     `json:"verify_mode,omitempty"`
	DurationMs         int64      `json:"duration_ms"`
	LogOutput          string     `json:"log_output"`
	StartedAt          *time.Time `json:"started_at"`
	CompletedAt        *time.Time `json:"completed_at"`
	CreatedAt          time.Time  `json:"created_at"`
	Progress           *Progress  `json:"progress,omitempty"`
	Replicas           []Replica  `json:"replicas"` // every copy, the primary first (copies.go)
}

// BackupQuery filters GET /api/backups.
type BackupQuery struct {
	ConnectionID, DatabaseID, ScheduleID, Status, BackupType string
	Limit, Offset                                            int
}

func (q BackupQuery) encode() string {
	v := url.Values{}
	for k, s := range map[string]string{"connection_id": q.ConnectionID, "database_id": q.DatabaseID,
		"schedule_id": q.ScheduleID, "status": q.Status, "backup_type": q.BackupType} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// Backups lists backups, newest first.
func (c *Client) Backups(ctx context.Context, q BackupQuery) ([]Backup, json.RawMessage, error) {
	return fetch[[]Backup](ctx, c, http.MethodGet, "/api/backups"+q.encode(), nil)
}

// Backup reads one backup, with its live progress while it runs.
func (c *Client) Backup(ctx context.Context, id string) (Backup, json.RawMessage, error) {
	return fetch[Backup](ctx, c, http.MethodGet, "/api/backups/"+url.PathEscape(id), nil)
}

// BackupLogs reads a backup's log.
func (c *Client) BackupLogs(ctx context.Context, id string) (string, json.RawMessage, error) {
	out, raw, err := fetch[struct {
		Log string `json:"log"`
	}](ctx, c, http.MethodGet, "/api/backups/"+url.PathEscape(id)+"/logs", nil)
	return out.Log, raw, err
}

// BackupRequest is the body of POST /api/backups.
type BackupRequest struct {
	ConnectionID      string `json:"connection_id"`
	DatabaseID        string `json:"database_id"`
	BackupType        string `json:"backup_type,omitempty"`
	ScheduleID        string `json:"schedule_id,omitempty"`
	StorageProviderID string `json:"storage_provider_id,omitempty"`
}

// StartBackup starts a one-shot backup and returns its record.
func (c *Client) StartBackup(ctx context.Context, r BackupRequest) (Backup, json.RawMessage, error) {
	return fetch[Backup](ctx, c, http.MethodPost, "/api/backups", r)
}

// VerifyBackup starts verifying a backup; mode is "quick", "deep" or ""
// (the daemon's default, deep).
func (c *Client) VerifyBackup(ctx context.Context, id, mode string) (json.RawMessage, error) {
	var body any
	if mode != "" {
		body = map[string]string{"mode": mode}
	}
	_, raw, err := fetch[json.RawMessage](ctx, c, http.MethodPost, "/api/backups/"+url.PathEscape(id)+"/verify", body)
	return raw, err
}

// DeleteBackup deletes a backup and its object.
func (c *Client) DeleteBackup(ctx context.Context, id string) error {
	_, err := c.call(ctx, http.MethodDelete, "/api/backups/"+url.PathEscape(id), nil)
	return err
}

// Download is the stored object of a backup as the daemon streams it.
type Download struct {
	Body     io.ReadCloser
	Size     int64 // -1 when the daemon did not say
	Filename string
}

// DownloadBackup opens the stored object of a backup. The caller closes Body.
func (c *Client) DownloadBackup(ctx context.Context, id string) (Download, error) {
	resp, err := c.open(ctx, http.MethodGet, "/api/backups/"+url.PathEscape(id)+"/download", "", nil)
	if err != nil {
		return Download{}, err
	}
	d := Download{Body: resp.Body, Size: resp.ContentLength}
	if _, p, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		d.Filename = p["filename"]
	}
	return d, nil
}

// RestoreRequest is the body of POST /api/backups/{id}/restore.
type RestoreRequest struct {
	TargetConnection string `json:"target_connection,omitempty"`
	TargetDatabase   string `json:"target_database,omitempty"`
	DropExisting     bool   `json:"drop_existing,omitempty"`
	NoPrivileges     bool   `json:"no_privileges,omitempty"`
	RestoreType      string `json:"restore_type,omitempty"`
	// Physical backups: the new data directory, a check by a throwaway
	// server, and for a point-in-time restore one of the targets.
	TargetDir  string     `json:"target_dir,omitempty"`
	Check      bool       `json:"check,omitempty"`
	TargetTime *time.Time `json:"target_time,omitempty"`
	TargetLSN  string     `json:"target_lsn,omitempty"`
	Latest     bool       `json:"latest,omitempty"`
}

// Restore is a restore record.
type Restore struct {
	ID               string     `json:"id"`
	BackupID         string     `json:"backup_id"`
	TargetConnection string     `json:"target_connection"`
	TargetDatabase   string     `json:"target_database"`
	DropExisting     bool       `json:"drop_existing"`
	RestoreType      string     `json:"restore_type"`
	Status           string     `json:"status"`
	DurationMs       int64      `json:"duration_ms"`
	LogOutput        string     `json:"log_output"`
	StartedAt        *time.Time `json:"started_at"`
	CompletedAt      *time.Time `json:"completed_at"`
	CreatedAt        time.Time  `json:"created_at"`
	Progress         *Progress  `json:"progress,omitempty"`
	TargetDir        string     `json:"target_dir,omitempty"`
	PointInTime      string     `json:"point_in_time,omitempty"`
	TargetTime       *time.Time `json:"target_time,omitempty"`
	TargetLSN        string     `json:"target_lsn,omitempty"`
	Latest           bool       `json:"latest,omitempty"`
}

// RestoreBackup starts restoring a backup.
func (c *Client) RestoreBackup(ctx context.Context, id string, r RestoreRequest) (Restore, json.RawMessage, error) {
	return fetch[Restore](ctx, c, http.MethodPost, "/api/backups/"+url.PathEscape(id)+"/restore", r)
}

// Restores lists restores, newest first.
func (c *Client) Restores(ctx context.Context) ([]Restore, json.RawMessage, error) {
	return fetch[[]Restore](ctx, c, http.MethodGet, "/api/restores", nil)
}

// Restore reads one restore, with its live progress while it runs.
func (c *Client) Restore(ctx context.Context, id string) (Restore, json.RawMessage, error) {
	return fetch[Restore](ctx, c, http.MethodGet, "/api/restores/"+url.PathEscape(id), nil)
}

// Schedule is a schedule record.
type Schedule struct {
	ID                string     `json:"id"`
	Name              string     `json:"name"`
	ConnectionID      string     `json:"connection_id"`
	DatabaseID        string     `json:"database_id"`
	BackupType        string     `json:"backup_type"`
	CronExpr          string     `json:"cron_expr"`
	StorageProviderID string     `json:"storage_provider_id"`
	EncryptionEnabled bool       `json:"encryption_enabled"`
	VerifyEnabled     bool       `json:"verify_enabled"`
	Enabled           bool       `json:"enabled"`
	NextRunAt         *time.Time `json:"next_run_at"`
	LastRunAt         *time.Time `json:"last_run_at"`
	LastStatus        string     `json:"last_status"`
	ManagedBy         string     `json:"managed_by"`
}

// Schedules lists schedules.
func (c *Client) Schedules(ctx context.Context) ([]Schedule, json.RawMessage, error) {
	return fetch[[]Schedule](ctx, c, http.MethodGet, "/api/schedules", nil)
}

// Schedule reads one schedule.
func (c *Client) Schedule(ctx context.Context, id string) (Schedule, json.RawMessage, error) {
	return fetch[Schedule](ctx, c, http.MethodGet, "/api/schedules/"+url.PathEscape(id), nil)
}

// RunSchedule triggers a schedule now.
func (c *Client) RunSchedule(ctx context.Context, id string) (json.RawMessage, error) {
	_, raw, err := fetch[json.RawMessage](ctx, c, http.MethodPost, "/api/schedules/"+url.PathEscape(id)+"/run", nil)
	return raw, err
}

// SetScheduleEnabled enables or disables a schedule (on a file-managed one,
// a runtime override).
func (c *Client) SetScheduleEnabled(ctx context.Context, id string, on bool) (Schedule, json.RawMessage, error) {
	return fetch[Schedule](ctx, c, http.MethodPut, "/api/schedules/"+url.PathEscape(id), map[string]bool{"enabled": on})
}

// Connection is a database server connection (never its password).
type Connection struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	DBType    string `json:"db_type"`
	Host      string `json:"host"`
	Port      int    `json:"port"`
	Username  string `json:"username"`
	SSLMode   string `json:"ssl_mode"`
	ManagedBy string `json:"managed_by"`
}

// Connections lists connections.
func (c *Client) Connections(ctx context.Context) ([]Connection, json.RawMessage, error) {
	return fetch[[]Connection](ctx, c, http.MethodGet, "/api/connections", nil)
}

// TestResult is the answer of a connection test.
type TestResult struct {
	Success bool   `json:"success"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

// TestConnection pings a connection's server.
func (c *Client) TestConnection(ctx context.Context, id string) (TestResult, json.RawMessage, error) {
	return fetch[TestResult](ctx, c, http.MethodPost, "/api/connections/"+url.PathEscape(id)+"/test", nil)
}

// Database is a database of a connection.
type Database struct {
	ID           string `json:"id"`
	ConnectionID string `json:"connection_id"`
	DBName       string `json:"db_name"`
	IsSelected   bool   `json:"is_selected"`
	SizeBytes    int64  `json:"size_bytes"`
	ManagedBy    string `json:"managed_by"`
}

// Databases lists the known databases of a connection.
func (c *Client) Databases(ctx context.Context, connID string) ([]Database, json.RawMessage, error) {
	return fetch[[]Database](ctx, c, http.MethodGet, "/api/connections/"+url.PathEscape(connID)+"/databases", nil)
}

// DiscoverDatabases lists the databases on a connection's server and
// records them.
func (c *Client) DiscoverDatabases(ctx context.Context, connID string) ([]Database, json.RawMessage, error) {
	return fetch[[]Database](ctx, c, http.MethodPost, "/api/connections/"+url.PathEscape(connID)+"/discover", nil)
}

// ConfigStatus is GET /api/config/status (the fields the CLI shows).
type ConfigStatus struct {
	Path          string     `json:"path"`
	Generation    int64      `json:"generation"`
	FileDigest    string     `json:"file_digest"`
	GitCommit     string     `json:"git_commit,omitempty"`
	LastAppliedAt *time.Time `json:"last_applied_at"`
	LastReloadAt  *time.Time `json:"last_reload_at"`
	Summary       string     `json:"summary"`
	LastError     string     `json:"last_error,omitempty"`
	Held          string     `json:"held,omitempty"`
	Healthy       bool       `json:"healthy"`
	Overrides     []struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"overrides"`
}

// ConfigStatus reads the reconciler's status.
func (c *Client) ConfigStatus(ctx context.Context) (ConfigStatus, json.RawMessage, error) {
	return fetch[ConfigStatus](ctx, c, http.MethodGet, "/api/config/status", nil)
}

// PlanDoc asks what applying doc would change, with the client's token.
func (c *Client) PlanDoc(ctx context.Context, doc []byte) (api.PlanView, json.RawMessage, error) {
	var p api.PlanView
	resp, err := c.open(ctx, http.MethodPost, "/api/config/plan", "application/yaml", doc)
	if err != nil {
		return p, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return p, nil, fmt.Errorf("read plan: %w", err)
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, nil, fmt.Errorf("decode plan: %w", err)
	}
	return p, data, nil
}

// Reload re-reads the daemon's config file now; confirmPrune releases a
// plan held by the prune guard.
func (c *Client) Reload(ctx context.Context, confirmPrune bool) (api.PlanView, json.RawMessage, error) {
	path := "/api/config/reload"
	if confirmPrune {
		path += "?confirm_prune=true"
	}
	return fetch[api.PlanView](ctx, c, http.MethodPost, path, nil)
}

// Export returns the API-made resources as a jagad.yaml document.
func (c *Client) Export(ctx context.Context) ([]byte, error) {
	resp, err := c.open(ctx, http.MethodGet, "/api/config/export", "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read export: %w", err)
	}
	return data, nil
}

// Token is an API token as GET /api/tokens lists it (never the secret).
type Token struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Scope        string     `json:"scope"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    *time.Time `json:"expires_at"`
	LastUsedAt   *time.Time `json:"last_used_at"`
	LastUsedFrom string     `json:"last_used_from"`
	ManagedBy    string     `json:"managed_by"`
}

// NewToken is the answer of POST /api/tokens: the only time the secret is
// shown.
type NewToken struct {
	Token
	Secret string `json:"token"`
}

// TokenRequest is the body of POST /api/tokens.
type TokenRequest struct {
	Name      string     `json:"name"`
	Scope     string     `json:"scope"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// CreateToken creates a token.
func (c *Client) CreateToken(ctx context.Context, r TokenRequest) (NewToken, json.RawMessage, error) {
	return fetch[NewToken](ctx, c, http.MethodPost, "/api/tokens", r)
}

// Tokens lists tokens.
func (c *Client) Tokens(ctx context.Context) ([]Token, json.RawMessage, error) {
	return fetch[[]Token](ctx, c, http.MethodGet, "/api/tokens", nil)
}

// RevokeToken deletes a token.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	_, err := c.call(ctx, http.MethodDelete, "/api/tokens/"+url.PathEscape(id), nil)
	return err
}

// FailureOf returns the lines of a job's log that say what went wrong
// (those with ERROR or FAILED), or its last line.
func FailureOf(log string) string {
	var bad []string
	lines := strings.Split(strings.TrimSpace(log), "\n")
	for _, l := range lines {
		if strings.Contains(l, "ERROR") || strings.Contains(l, "FAILED") {
			bad = append(bad, strings.TrimSpace(l))
		}
	}
	if len(bad) > 0 {
		return strings.Join(bad, "\n")
	}
	return strings.TrimSpace(lines[len(lines)-1])
}
