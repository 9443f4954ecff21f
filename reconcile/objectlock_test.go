package reconcile

import (
	"testing"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// TestDesiredObjectLock: a storage's object_lock reaches the provider record.
func TestDesiredObjectLock(t *testing.T) {
	f := &config.File{Version: config.Version, Storage: []config.Storage{
		{Name: "vault", ProviderType: "s3", Region: "eu-west-1", Bucket: "jagad-vault", AccessKey: "a", SecretKey: "s",
			ObjectLock: &config.ObjectLock{Mode: "compliance", Days: 30}},
		{Name: "offsite", ProviderType: "s3", Region: "eu-west-1", Bucket: "jagad-offsite", AccessKey: "a", SecretKey: "s"},
	}}
	d, err := buildDesired(f, state.Settings{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.providers[0].ObjectLock; got != (state.ObjectLock{Mode: "compliance", Days: 30}) {
		t.Fatalf("vault ObjectLock = %+v, want compliance 30", got)
	}
	if got := d.providers[1].ObjectLock; got != (state.ObjectLock{}) {
		t.Fatalf("offsite ObjectLock = %+v, want none", got)
	}
}
