package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/engine/notify"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// Verification re-reads a stored backup and proves it intact:
//   - quick: the stored bytes against encrypted_checksum and the stored size
//     (no key needed);
//   - deep: quick, plus decryption to the verified final chunk, the
//     compressed stream against checksum, decompression to the end and a
//     readability check of the dump (pg_restore --list, or the mysqldump
//     completion trailer).
//
// Deep is used when the backup is unencrypted or its key is in the keyring;
// the mode is recorded in verify_mode. Verification never changes a backup's
// status: its result goes to verify_status/verify_mode/verified_at and its
// log is appended to log_output.

// Verify modes recorded on the backup.
const (
	VerifyQuick = "quick"
	VerifyDeep  = "deep"
)

// maxBackupLog bounds log_output once verification logs are appended; the
// oldest lines go first.
const maxBackupLog = 256 << 10

// Verify starts a verification and returns once the backup is marked
// verifying. deep asks for a deep verification, which falls back to quick
// (and says so in the log) when the backup's key is not in the keyring;
// !deep is a quick one.
func (e *Engine) Verify(ctx context.Context, id string, deep bool) error {
	b, err := e.beginVerify(id)
	if err != nil {
		return err
	}
	e.log.Info("verification started", "backup", id, "deep", deep)
	e.goJob(func(ctx context.Context) { e.runVerify(ctx, b, deep) })
	return nil
}

// verifyNow verifies a backup synchronously (after a scheduled backup).
func (e *Engine) verifyNow(ctx context.Context, id string, deep bool) {
	b, err := e.beginVerify(id)
	if err != nil {
		e.log.Warn("verification not started", "backup", id, "err", err)
		return
	}
	e.runVerify(ctx, b, deep)
}

// beginVerify marks a successful backup verifying: 404 when missing, 400
// unless success, 409 when a verification is already running.
func (e *Engine) beginVerify(id string) (state.Backup, error) {
	var b state.Backup
	err := e.store.Update(func(tx *state.Tx) error {
		var err error
		b, err = state.Get[state.Backup](tx, id)
		if errors.Is(err, state.ErrNotFound) {
			return fault.NotFound("backup not found")
		}
		if err != nil {
			return err
		}
		if b.Status != state.StatusSuccess {
			return fault.Invalid("cannot verify backup with status: " + b.Status)
		}
		if b.VerifyStatus == state.VerifyVerifying {
			return fault.Conflict("backup " + id + " is already being verified")
		}
		b.VerifyStatus = state.VerifyVerifying
		return state.Put(tx, b)
	})
	return b, err
}

// runVerify waits for a slot, verifies and records the result.
func (e *Engine) runVerify(ctx context.Context, b state.Backup, deep bool) {
	log := newJobLog(e.now)
	ctx, cancel := context.WithTimeout(ctx, e.opts.DefaultTimeout)
	defer cancel()
	mode := VerifyQuick
	var checks []copyCheck
	err := e.slots.acquire(ctx)
	if err != nil {
		log.Printf("QUEUE: gave up waiting for a slot: %v", err)
	} else {
		mode, checks, err = e.verifyCopies(ctx, b, deep, log)
		if err == nil {
			err = e.verifyArchiveAfter(ctx, b, mode, log) // archive_verify.go: WAL or binary logs
		}
		e.slots.release()
	}
	e.finishVerify(b, mode, log, err, checks)
}

// verifyMode picks the mode of a verification and logs it.
func (e *Engine) verifyMode(b state.Backup, deep bool, log *jobLog) (string, *crypt.Keyring) {
	kr, kerr := e.opts.Keys()
	mode := VerifyQuick
	if deep && (b.EncryptionAlgo == "" || (kerr == nil && kr != nil && kr.Has(b.EncryptionKeyID))) {
		mode = VerifyDeep
	}
	log.Printf("VERIFY: starting %s verification for backup %s (%s)", mode, b.ID, e.now().UTC().Format(time.RFC3339))
	if deep && mode == VerifyQuick {
		log.Printf("VERIFY: encryption key %q is not available: quick verification only (stored bytes against encrypted_checksum)", b.EncryptionKeyID)
	}
	return mode, kr
}

// verifyObject verifies one stored copy of b in st.
func (e *Engine) verifyObject(ctx context.Context, b state.Backup, st storage.Store, key, mode string, kr *crypt.Keyring, log *jobLog) error {
	if mode == VerifyQuick {
		if done, err := quickFromStore(ctx, st, b, key, log); done {
			return err
		}
	}
	prog, done := e.trackVerify(b)
	defer done()
	st = &progressStore{Store: st, j: prog, verifyGets: math.MaxInt}
	spec := objfmt.SpecOf(b)
	spec.Key = key
	if mode == VerifyQuick {
		return quickVerify(ctx, st, spec, log)
	}
	settings, err := e.settings()
	if err != nil {
		return err
	}
	return deepVerify(ctx, st, spec, objfmt.Keys{Ring: kr}, e.tools(settings), log)
}

// quickVerify compares the stored bytes with encrypted_checksum.
func quickVerify(ctx context.Context, st storage.Store, spec objfmt.Spec, log restoreLog) error {
	if spec.EncryptedChecksum == "" {
		return errors.New("no encrypted_checksum recorded: nothing to compare the stored bytes with")
	}
	s, err := objfmt.OpenStored(ctx, st, spec)
	if err != nil {
		stage, _ := objfmt.CauseOf(nil, err)
		log.Printf("%s ERROR: %v", stage, err)
		return err
	}
	defer s.Close()
	log.Printf("DOWNLOAD: %s (%d bytes)", spec.Key, s.Size())
	if _, err := objfmt.Discard(s); err != nil {
		stage, cause := s.Cause()
		if cause == nil {
			stage, cause = "DOWNLOAD", err
		}
		log.Printf("%s ERROR: %v", stage, cause)
		return err
	}
	log.Printf("CHECKSUM: stored object sha256=%s MATCH", s.Sum())
	return nil
}

// deepVerify reads the object through every check and proves the dump
// readable.
func deepVerify(ctx context.Context, st storage.Store, spec objfmt.Spec, keys objfmt.Keys, tools dump.Tools, log restoreLog) error {
	d, err := objfmt.OpenDump(ctx, st, spec, keys)
	if err != nil {
		logCause(log, d, err)
		return err
	}
	defer d.Close()
	log.Printf("DOWNLOAD: %s (%d bytes)", spec.Key, d.StoredSize())
	err = dump.CheckReadable(ctx, spec.DBType, tools, d)
	if err == nil && !d.Done() {
		_, err = objfmt.Discard(d) // every check runs at the end of the stream
	}
	if err != nil {
		if stage, cause := d.Cause(); cause != nil {
			log.Printf("%s ERROR: %v", stage, cause)
		} else {
			log.Printf("DUMP ERROR: %v", err)
		}
		return err
	}
	log.Printf("CHECKSUM: stored object sha256=%s MATCH", d.StoredSum())
	if spec.Encrypted {
		log.Printf("DECRYPT: streaming decrypt OK")
	}
	log.Printf("CHECKSUM: computed=%s", d.CompressedSum())
	if spec.Checksum != "" {
		log.Printf("VERIFY: checksum MATCH — integrity verified")
	} else {
		log.Printf("VERIFY: no stored checksum to compare the compressed stream with")
	}
	log.Printf("%s", d.DecompressLine())
	how := "mysqldump completion trailer present"
	switch {
	case strings.Contains(spec.Key, dump.BaseBackupExt):
		how = "base backup tar read through, backup_label and global/pg_control present"
	case spec.DBType == dbclient.PostgreSQL:
		how = "pg_restore --list OK"
	case strings.Contains(spec.Key, physicalExt):
		how = "xbstream chunks and checksums OK"
	}
	log.Printf("DUMP: readable (%s)", how)
	return nil
}

// finishVerify records the result on the backup (never its status), meters
// it and sends verify.failed on failure.
func (e *Engine) finishVerify(b state.Backup, mode string, log *jobLog, err error, checks []copyCheck) {
	now := e.now().UTC()
	result := state.VerifyPassed
	if err != nil {
		result = state.VerifyFailed
		log.Printf("VERIFY FAILED (%s): %v", mode, err)
	} else {
		log.Printf("VERIFY: passed (%s)", mode)
	}
	saved, check := b, e.verifyCheck(b.ID, mode, now, log, err)
	uerr := e.store.Update(func(tx *state.Tx) error {
		cur, err := state.Get[state.Backup](tx, b.ID)
		if err != nil {
			return err
		}
		cur.VerifyStatus, cur.VerifyMode, cur.VerifiedAt = result, mode, &now
		cur.AddCheck(check)
		recordChecks(&cur, checks, now)
		cur.LogOutput = appendLog(cur.LogOutput, log.String())
		saved = cur
		return state.Put(tx, cur)
	})
	if uerr != nil {
		e.log.Error("record verification", "backup", b.ID, "err", uerr)
	}
	e.metrics.verifications.WithLabelValues(result).Inc()
	e.notifyCopyChecks(saved, checks, log)
	if err == nil {
		e.log.Info("verification passed", "backup", b.ID, "mode", mode)
		return
	}
	msg := log.scrub(err.Error())
	e.log.Error("verification failed", "backup", b.ID, "mode", mode, "err", msg)
	ev := backupEvent(notify.KindVerifyFailed, saved)
	ev.Status, ev.Error, ev.Log = state.StatusFailed, "verification failed: "+msg, log.String()
	var listed []string
	if saved.NotifyOnFailure {
		listed = saved.NotifTargetIDs
	}
	e.dispatch(ev, listed)
}

// appendLog appends a job log to a record's log, dropping the oldest lines
// beyond maxBackupLog.
func appendLog(old, add string) string {
	s := old
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	s += add
	if len(s) <= maxBackupLog {
		return s
	}
	cut := len(s) - maxBackupLog
	if i := strings.IndexByte(s[cut:], '\n'); i >= 0 {
		cut += i + 1
	}
	return fmt.Sprintf("... (%d bytes of older log dropped)\n", cut) + s[cut:]
}
