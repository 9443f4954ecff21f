package state

// STUB: the store implementation replaces every panic below. The signatures
// are the contract.

// Store is the Badger-backed state store.
type Store struct{}

// Tx is one read or read-write transaction.
type Tx struct{}

// Change tells a subscriber that records of these kinds changed.
type Change struct{}

// Open opens (or creates) the store. A data dir held by another process
// returns an error wrapping ErrLocked.
func Open(opts Options) (*Store, error) { panic("todo") }

// Close flushes and closes Badger.
func (s *Store) Close() error { panic("todo") }

// Ping reports whether the store is usable (readiness).
func (s *Store) Ping() error { panic("todo") }

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(*Tx) error) error { panic("todo") }

// Update runs fn in one read-write Badger transaction and commits it
// atomically; on conflict it retries fn. After a successful commit,
// subscribers of the touched kinds are notified.
func (s *Store) Update(fn func(*Tx) error) error { panic("todo") }

// Subscribe returns a one-slot channel that receives a value after every
// committed Update that touched any of kinds (all kinds when none given).
// Bursts coalesce; subscribers re-read state (level-triggered).
func (s *Store) Subscribe(kinds ...Kind) (<-chan struct{}, func()) { panic("todo") }

// NewID returns a new random ID with the kind's prefix (e.g. "bck_…").
func NewID(k Kind) string { panic("todo") }

// DerivedID returns the stable ID of a file-managed record: prefix + a hash of kind and name.
func DerivedID(k Kind, name string) string { panic("todo") }

// Get reads one record by ID; ErrNotFound when missing.
func Get[T Record](tx *Tx, id string) (T, error) { panic("todo") }

// List returns every record of T's kind (backups: prefer ListBackups).
func List[T Record](tx *Tx) ([]T, error) { panic("todo") }

// Put creates or replaces a record, sealing its Secret fields with the record key as AAD.
func Put[T Record](tx *Tx, rec T) error { panic("todo") }

// Delete removes a record; ErrNotFound when missing.
func Delete[T Record](tx *Tx, id string) error { panic("todo") }

// ListBackups lists backups newest first through the secondary indexes.
func (tx *Tx) ListBackups(q BackupQuery) ([]Backup, error) { panic("todo") }

// BackupStats returns the aggregate kept up to date by Put/Delete of backups.
func (tx *Tx) BackupStats() (BackupStats, error) { panic("todo") }

// Settings returns the settings with defaults filled in.
func (tx *Tx) Settings() (Settings, error) { panic("todo") }

// PutSettings stores the settings record.
func (tx *Tx) PutSettings(s Settings) error { panic("todo") }

// Admin returns the admin user; ErrNotFound before the first start seeds it.
func (tx *Tx) Admin() (AdminUser, error) { panic("todo") }

// PutAdmin stores the admin user.
func (tx *Tx) PutAdmin(u AdminUser) error { panic("todo") }

// Session returns a session by token hash; ErrNotFound when missing or expired.
func (tx *Tx) Session(tokenHash string) (Session, error) { panic("todo") }

// PutSession stores a session (with a Badger TTL at ExpiresAt).
func (tx *Tx) PutSession(s Session) error { panic("todo") }

// DeleteSession removes one session.
func (tx *Tx) DeleteSession(tokenHash string) error { panic("todo") }

// DeleteAllSessions removes every session (password change).
func (tx *Tx) DeleteAllSessions() error { panic("todo") }

// ConfigStatus returns the reconciler's status (zero value when none yet).
func (tx *Tx) ConfigStatus() (ConfigStatus, error) { panic("todo") }

// PutConfigStatus stores the reconciler's status.
func (tx *Tx) PutConfigStatus(s ConfigStatus) error { panic("todo") }
