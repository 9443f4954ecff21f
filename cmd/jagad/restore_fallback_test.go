package main

import (
	"bytes"
	"context"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/state"
)

// TestOfflineRestoreFallsBack: `jagad restore --fallback-storage` restores
// an encrypted PostgreSQL backup whose primary object is corrupt from the
// next destination that holds a good copy: a local directory whose copy is
// truncated is skipped, the copy in an S3 bucket (gofakes3, keys from
// OFFSITE_*) is used, and the restored content matches the source. Without
// fallbacks the same restore fails before the target is touched.
func TestOfflineRestoreFallsBack(t *testing.T) {
	pg := dbtest.Postgres(t)
	src := pg.CreateDB(t, "fallback")
	pg.Exec(t, src, `CREATE TABLE items (id int PRIMARY KEY, v text);
INSERT INTO items SELECT g, 'copy ' || g FROM generate_series(1, 3000) g;`)
	want := pg.Checksum(t, src)
	key, err := crypt.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	primary := t.TempDir()
	b := fallbackBackup(t, pg, src, primary, key)
	obj, err := os.ReadFile(filepath.Join(primary, b.StoragePath))
	if err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile(filepath.Join(primary, b.StoragePath+objfmt.ManifestSuffix))
	if err != nil {
		t.Fatal(err)
	}
	// The other destinations: a local one with a truncated object, an S3
	// bucket with the good copy under a prefix.
	bad := t.TempDir()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(bad, b.StoragePath)), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(bad, b.StoragePath), string(obj[:len(obj)/2]))
	writeFile(t, filepath.Join(bad, b.StoragePath+objfmt.ManifestSuffix), string(man))
	cfg := s3test.StartFake(t)
	cfg.Prefix = "offsite/"
	s3, err := storage.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string][]byte{b.StoragePath: obj, b.StoragePath + objfmt.ManifestSuffix: man} {
		if _, err := s3.Put(context.Background(), k, bytes.NewReader(v)); err != nil {
			t.Fatal(err)
		}
	}
	// The disaster: one byte of the primary flipped, the database gone.
	obj[len(obj)/3] ^= 0xff
	if err := os.WriteFile(filepath.Join(primary, b.StoragePath), obj, 0o600); err != nil {
		t.Fatal(err)
	}
	pg.DropDB(t, src)

	env := map[string]string{"PGPASSWORD": pg.Password, crypt.EnvKey: key,
		"OFFSITE_ACCESS_KEY_ID": cfg.AccessKey, "OFFSITE_SECRET_ACCESS_KEY": cfg.SecretKey}
	s3spec := "s3-compat:" + cfg.Bucket + "/offsite?" + url.Values{"endpoint": {cfg.Endpoint}, "region": {cfg.Region}, "keys": {"OFFSITE"}}.Encode()
	base := []string{"restore", "--storage-type", "local", "--path", primary, b.StoragePath, "--to", dbURL("postgres", pg, src)}

	code, _, errOut := runCLI(t, env, base...)
	if code != exitFailure || !strings.Contains(errOut, "RESTORE FAILED") {
		t.Fatalf("without fallbacks: exit %d, want 1\n%s", code, errOut)
	}
	var exists bool
	if err := pg.DB(t, "postgres").QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, src).Scan(&exists); err != nil || exists {
		t.Errorf("the failed restore touched the target: database exists=%v (%v)", exists, err)
	}

	code, out, errOut := runCLI(t, env, append(base, "--fallback-storage", "local:"+bad, "--fallback-storage", s3spec)...)
	if code != 0 {
		t.Fatalf("with fallbacks: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, s := range []string{
		"RECOVER: the copy on local:" + primary + " failed its checks",
		"RECOVER: trying the copy on local:" + bad,
		"RECOVER: the copy on local:" + bad + " failed its checks",
		"RECOVER: trying the copy on s3:" + cfg.Bucket + "/offsite",
		"RECOVER: restoring from the copy on s3:" + cfg.Bucket + "/offsite",
		"RESTORE COMPLETE: success",
	} {
		if !strings.Contains(errOut, s) {
			t.Errorf("log lacks %q:\n%s", s, errOut)
		}
	}
	if !strings.Contains(out, "restored backup "+b.ID) {
		t.Errorf("stdout %q", out)
	}
	if got := pg.Checksum(t, src); !maps.Equal(got, want) {
		t.Errorf("restored %v, want %v", got, want)
	}
	for _, secret := range []string{cfg.SecretKey, key, pg.Password} {
		if strings.Contains(out+errOut, secret) {
			t.Error("a secret reached the output")
		}
	}
}

// fallbackBackup makes an encrypted backup of db with a real engine into dir.
func fallbackBackup(t *testing.T, srv *dbtest.Server, db, dir, key string) state.Backup {
	t.Helper()
	store, err := state.Open(state.Options{Dir: t.TempDir(), MasterKey: bytes.Repeat([]byte{5}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	kr, err := crypt.NewKeyring("k1", map[string]string{"k1": key}, "")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Store: store, Keys: func() (*crypt.Keyring, error) { return kr, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer eng.Shutdown(context.Background())
	now := time.Now().UTC()
	drPut(t, store, state.Provider{Meta: state.Meta{ID: "prov_local", CreatedAt: now, UpdatedAt: now},
		ProviderSpec: state.ProviderSpec{Name: "local", ProviderType: "local", Path: dir, IsDefault: true}})
	return drBackup(t, eng, store, srv, db, true)
}

// TestFallbackStorageSpecs: the --fallback-storage forms, and the ones
// refused as usage errors (keys on the command line among them).
func TestFallbackStorageSpecs(t *testing.T) {
	env := mapEnv(map[string]string{"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "B_ACCESS_KEY_ID": "AK2", "B_SECRET_ACCESS_KEY": "SK2"})
	p, err := parseStorageSpec("minio:bkt/some/prefix?endpoint=http://minio:9000&region=eu-1&keys=B", env)
	if err != nil || p.ProviderType != "minio" || p.Bucket != "bkt" || p.Prefix != "some/prefix" || p.Endpoint != "http://minio:9000" ||
		p.Region != "eu-1" || !p.PathStyle || p.AccessKey != "AK2" || p.SecretKey.Reveal() != "SK2" {
		t.Errorf("minio spec: %+v %v", p, err)
	}
	p, err = parseStorageSpec("s3:bkt?path_style=true", env)
	if err != nil || p.Bucket != "bkt" || p.Prefix != "" || !p.PathStyle || p.AccessKey != "AK" || p.SecretKey.Reveal() != "SK" {
		t.Errorf("s3 spec: %+v %v", p, err)
	}
	p, err = parseStorageSpec("local:rel/dir", env)
	if wd, _ := os.Getwd(); err != nil || p.ProviderType != "local" || p.Path != filepath.Join(wd, "rel/dir") || p.AccessKey != "" {
		t.Errorf("local spec: %+v %v", p, err)
	}
	for _, bad := range []string{"", "local:", "/just/a/path", "ftp:host", "s3:", "s3:?endpoint=http://x", "s3:b?secret_key=x",
		"s3:b?access_key=x", "s3:b?colour=red", "s3:b?region=a&region=b", "s3:b?path_style=maybe", "s3:b?keys="} {
		if _, err := parseStorageSpec(bad, env); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	code, _, errOut := runCLI(t, nil, "restore", "--storage-type", "local", "--path", t.TempDir(), "x", "--to", "postgres://u@h/db",
		"--fallback-storage", "s3:b?secret_key=hunter2")
	if code != exitUsage || !strings.Contains(errOut, "never given on the command line") {
		t.Errorf("a key in --fallback-storage: exit %d, %s", code, errOut)
	}
}
