package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// The catalog is the set of backups a storage describes by itself: every
// object has a <key>.manifest.json beside it. When the data dir is lost,
// `jagad catalog rebuild` re-creates the backup records from the manifests.

// backupsPrefix is where backup objects live in a store.
const backupsPrefix = "backups/"

// CatalogEntry is one manifest found in storage. Err is set when the
// manifest could not be read or its object is missing or of another size.
type CatalogEntry struct {
	ManifestKey string
	Manifest    objfmt.Manifest
	Err         error
}

// ReadCatalog reads every manifest under backups/ of st, in key order, and
// checks that each manifest's object exists with the recorded size.
func ReadCatalog(ctx context.Context, st storage.Store) ([]CatalogEntry, error) {
	infos, err := st.List(ctx, backupsPrefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", st, err)
	}
	sizes := make(map[string]int64, len(infos))
	for _, in := range infos {
		sizes[in.Key] = in.Size
	}
	var out []CatalogEntry
	for _, in := range infos {
		if !strings.HasSuffix(in.Key, objfmt.ManifestSuffix) {
			continue
		}
		ent := CatalogEntry{ManifestKey: in.Key}
		ent.Manifest, ent.Err = objfmt.ReadManifest(ctx, st, in.Key)
		if ent.Err == nil {
			ent.Err = checkListed(ent.Manifest, in.Key, sizes)
		}
		out = append(out, ent)
	}
	return out, nil
}

func checkListed(m objfmt.Manifest, key string, sizes map[string]int64) error {
	if m.ObjectKey+objfmt.ManifestSuffix != key {
		return fmt.Errorf("manifest %s names object %s", key, m.ObjectKey)
	}
	n, ok := sizes[m.ObjectKey]
	switch {
	case !ok:
		return fmt.Errorf("object %s is missing", m.ObjectKey)
	case m.StoredSizeBytes > 0 && n != m.StoredSizeBytes:
		return fmt.Errorf("object %s is %d bytes, the manifest says %d", m.ObjectKey, n, m.StoredSizeBytes)
	}
	return nil
}

// BackupFromManifest is the backup record a manifest describes, stored on
// provider providerID.
func BackupFromManifest(m objfmt.Manifest, providerID string, now time.Time) state.Backup {
	completed := m.CompletedAt
	created := completed
	if m.StartedAt != nil {
		created = *m.StartedAt
	}
	b := state.Backup{
		ID: m.BackupID, ConnectionID: m.ConnectionID, DatabaseID: m.DatabaseID, ScheduleID: m.ScheduleID,
		ConnectionName: m.ConnectionName, DatabaseName: m.DatabaseName, ScheduleName: m.ScheduleName,
		DBType: m.DBType, BackupType: m.BackupType, Status: state.StatusSuccess, StoragePath: m.ObjectKey,
		StorageProviderID: providerID, SizeBytes: m.SizeBytes, StoredSizeBytes: m.StoredSizeBytes,
		EncryptionAlgo: m.EncryptionAlgo, EncryptionKeyID: m.EncryptionKeyID, Compression: m.Compression,
		Checksum: m.Checksum, EncryptedChecksum: m.EncryptedChecksum, VerifyStatus: state.VerifyPending,
		StartedAt: m.StartedAt, CompletedAt: &completed, CreatedAt: created, QueuedAt: m.StartedAt,
		ToolVersion: m.ToolVersion, ServerVersion: m.ServerVersion, Tables: m.Tables,
		FromLSN: m.FromLSN, ToLSN: m.ToLSN, ChainID: m.ChainID, ParentID: m.ParentID,
		BinlogFile: m.BinlogFile, BinlogPos: m.BinlogPos,
		LogOutput: fmt.Sprintf("CATALOG: record rebuilt from %s%s at %s\n", m.ObjectKey, objfmt.ManifestSuffix, now.UTC().Format(time.RFC3339)),
	}
	if m.Encrypted {
		b.EncryptedSizeBytes = m.StoredSizeBytes
	}
	if m.StartedAt != nil {
		b.DurationMs = completed.Sub(*m.StartedAt).Milliseconds()
	}
	b.Replicas = []state.Replica{replicaFromManifest(m, state.Provider{Meta: state.Meta{ID: providerID}}, true)}
	return b
}

// replicaFromManifest is the copy a manifest describes on provider p.
func replicaFromManifest(m objfmt.Manifest, p state.Provider, primary bool) state.Replica {
	completed := m.CompletedAt
	return state.Replica{ProviderID: p.ID, ProviderName: p.Name, StoragePath: m.ObjectKey, Primary: primary,
		Status: state.ReplicaSuccess, SizeBytes: m.StoredSizeBytes, EncryptedChecksum: m.EncryptedChecksum, UploadedAt: &completed}
}

// RebuildResult is what RebuildCatalog did.
type RebuildResult struct {
	Provider        state.Provider
	ProviderCreated bool
	Added           []string       // backup IDs recorded
	Copies          []string       // backup IDs already recorded (from another destination) that gained a copy here
	Existing        []string       // backup IDs already in the store with a copy here
	Skipped         []CatalogEntry // unreadable manifests, missing objects
}

// RebuildCatalog records a backup for every sound manifest in st, on the
// provider named spec.Name: an existing provider of that name (which must
// point at the same storage) or a new one created from spec (its secret
// sealed by the store as usual). Backups already in the store are left
// alone, except that a backup found before on another destination gains a
// replica for this one: rebuilding from each destination in turn finds
// every copy (the first destination rebuilt is the primary of the records
// it creates).
func RebuildCatalog(ctx context.Context, store *state.Store, st storage.Store, spec state.ProviderSpec, now time.Time) (RebuildResult, error) {
	var res RebuildResult
	entries, err := ReadCatalog(ctx, st)
	if err != nil {
		return res, err
	}
	now = now.UTC()
	err = store.Update(func(tx *state.Tx) error {
		res = RebuildResult{}
		p, created, err := catalogProvider(tx, spec, now)
		if err != nil {
			return err
		}
		res.Provider, res.ProviderCreated = p, created
		for _, ent := range entries {
			if ent.Err != nil {
				res.Skipped = append(res.Skipped, ent)
				continue
			}
			if b, err := state.Get[state.Backup](tx, ent.Manifest.BackupID); err == nil {
				if _, ok := b.Replica(p.ID); ok {
					res.Existing = append(res.Existing, ent.Manifest.BackupID)
					continue
				}
				// Found before on another destination: this is one more copy.
				b.SetReplica(replicaFromManifest(ent.Manifest, p, false))
				b.LogOutput += fmt.Sprintf("CATALOG: copy on %s found from its manifest at %s\n", p.Name, now.Format(time.RFC3339))
				if err := state.Put(tx, b); err != nil {
					return fmt.Errorf("record copy of backup %s: %w", b.ID, err)
				}
				res.Copies = append(res.Copies, b.ID)
				continue
			} else if !errors.Is(err, state.ErrNotFound) {
				return err
			}
			nb := BackupFromManifest(ent.Manifest, p.ID, now)
			nb.Replicas[0].ProviderName = p.Name
			if err := state.Put(tx, nb); err != nil {
				return fmt.Errorf("record backup %s: %w", ent.Manifest.BackupID, err)
			}
			res.Added = append(res.Added, ent.Manifest.BackupID)
		}
		return nil
	})
	return res, err
}

// catalogProvider finds the provider named spec.Name or creates it (the
// default provider when it is the first one).
func catalogProvider(tx *state.Tx, spec state.ProviderSpec, now time.Time) (state.Provider, bool, error) {
	all, err := state.List[state.Provider](tx)
	if err != nil {
		return state.Provider{}, false, err
	}
	for _, p := range all {
		if p.Name != spec.Name {
			continue
		}
		if p.ProviderType != spec.ProviderType || p.Path != spec.Path || p.Bucket != spec.Bucket || p.Prefix != spec.Prefix {
			return state.Provider{}, false, fmt.Errorf("storage provider %q already exists and points elsewhere; choose another --provider-name", spec.Name)
		}
		return p, false, nil
	}
	spec.IsDefault = len(all) == 0
	p := state.Provider{
		Meta:         state.Meta{ID: state.NewID(state.KindProvider), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ProviderSpec: spec,
	}
	if err := state.Put(tx, p); err != nil {
		return state.Provider{}, false, fmt.Errorf("record storage provider: %w", err)
	}
	return p, true, nil
}
