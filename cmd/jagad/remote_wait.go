package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/jagad/jagad/api/client"
	"github.com/jagad/jagad/cmd/jagad/internal/bar"
)

// pollEvery is how often --wait reads the job's record.
const pollEvery = 500 * time.Millisecond

// progress is a progress bar on stderr, drawn only when stdout and stderr
// are terminals: a script reading the output sees no bar.
func (r *remote) progress(label string, total int64) *bar.Bar {
	w := r.stderr
	if !bar.IsTerminal(r.stdout) {
		w = io.Discard
	}
	return bar.New(w, label, total)
}

// jobFailed is a job that ended badly: exit 1 with its error.
type jobFailed struct{ what, id, why string }

func (e jobFailed) Error() string { return fmt.Sprintf("%s %s failed:\n%s", e.what, e.id, e.why) }

// waitBackup follows a backup to its end with a progress bar on stderr and
// prints its record; a failed backup is an error.
func (r *remote) waitBackup(ctx context.Context, c *client.Client, id string) error {
	pb := r.progress("backup "+id, 0)
	b, raw, err := poll(ctx, func() (client.Backup, json.RawMessage, error) { return c.Backup(ctx, id) },
		func(b client.Backup) (bool, error) {
			if p := b.Progress; p != nil {
				pb.Set(p.BytesRead, p.EstimatedTotalBytes)
			}
			return b.Status == "success" || b.Status == "failed", nil
		})
	if err != nil {
		return err
	}
	if b.Status == "success" {
		pb.Set(b.SizeBytes, b.SizeBytes)
	}
	pb.Finish()
	return r.ended(raw, b.Status == "success", jobFailed{"backup", b.ID, client.FailureOf(b.LogOutput)},
		"Backup %s succeeded: %s (%s stored) in %s.\n", b.ID, sizeOr(b.SizeBytes), sizeOr(b.StoredSizeBytes), duration(b.DurationMs))
}

// waitVerify waits for a verification to end.
func (r *remote) waitVerify(ctx context.Context, c *client.Client, id string) error {
	b, raw, err := poll(ctx, func() (client.Backup, json.RawMessage, error) { return c.Backup(ctx, id) },
		func(b client.Backup) (bool, error) { return b.VerifyStatus != "verifying", nil })
	if err != nil {
		return err
	}
	return r.ended(raw, b.VerifyStatus == "passed", jobFailed{"verification of backup", b.ID, client.FailureOf(b.LogOutput)},
		"Backup %s verified (%s): passed.\n", b.ID, b.VerifyMode)
}

// waitRestore follows a restore to its end with a progress bar.
func (r *remote) waitRestore(ctx context.Context, c *client.Client, id string) error {
	pb := r.progress("restore "+id, 0)
	res, raw, err := poll(ctx, func() (client.Restore, json.RawMessage, error) { return c.Restore(ctx, id) },
		func(res client.Restore) (bool, error) {
			if p := res.Progress; p != nil {
				pb.Set(p.BytesRead, p.EstimatedTotalBytes)
			}
			return res.Status == "success" || res.Status == "failed", nil
		})
	if err != nil {
		return err
	}
	pb.Finish()
	return r.ended(raw, res.Status == "success", jobFailed{"restore", res.ID, client.FailureOf(res.LogOutput)},
		"Restore %s succeeded in %s.\n", res.ID, duration(res.DurationMs))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backupsDownload is `jagad backups download ID -o FILE`: the stored object
// as the daemon streams it, checked against the record's stored size and
// checksum while it is written, and renamed into place only when both
// match: a failure leaves no file behind.
func (r *remote) backupsDownload() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "download BACKUP_ID -o FILE",
		Short: "Download a backup's stored object, verified while it is written",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("-o FILE is required")
			}
			return r.do(func(ctx context.Context, c *client.Client) error {
				b, _, err := c.Backup(ctx, args[0])
				if err != nil {
					return err
				}
				if b.EncryptedChecksum == "" {
					return fmt.Errorf("backup %s has no stored checksum to verify the download against", b.ID)
				}
				d, err := c.DownloadBackup(ctx, b.ID)
				if err != nil {
					return err
				}
				defer d.Body.Close()
				pb := r.progress("download "+b.ID, b.StoredSizeBytes)
				sum, n, err := writeVerified(out, io.TeeReader(d.Body, pb), b.StoredSizeBytes, b.EncryptedChecksum)
				pb.Finish()
				if err != nil {
					return fmt.Errorf("download backup %s: %w", b.ID, err)
				}
				return r.tell(map[string]any{"id": b.ID, "file": out, "bytes": n, "sha256": sum}, "Downloaded backup %s to %s: %s, sha256 %s verified.\n", b.ID, out, bar.Size(n), sum)
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the object to FILE (atomically: nothing is left on failure)")
	return cmd
}

// writeVerified copies src to path through a temporary file in the same
// directory, and renames it into place only when the bytes are size long
// (when size > 0) and their sha256 is sum.
func writeVerified(path string, src io.Reader, size int64, sum string) (string, int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return "", 0, err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		return "", n, fmt.Errorf("after %s: %w", bar.Size(n), err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	switch {
	case size > 0 && n != size:
		return got, n, fmt.Errorf("received %d bytes, the backup record says %d", n, size)
	case got != sum:
		return got, n, fmt.Errorf("checksum mismatch: received sha256 %s, the backup record says %s", got, sum)
	}
	if err := tmp.Sync(); err != nil {
		return got, n, err
	}
	if err := tmp.Close(); err != nil {
		return got, n, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return got, n, err
	}
	ok = true
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		_ = dir.Sync()
		dir.Close()
	}
	return got, n, nil
}
