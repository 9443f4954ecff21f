package config

import "testing"

func TestGoodObjectLock(t *testing.T) {
	f := loadGood(t, "testdata/good/object_lock.yaml")
	if l := f.Storage[0].ObjectLock; l == nil || *l != (ObjectLock{Mode: "compliance", Days: 30}) {
		t.Fatalf("vault object_lock = %+v, want compliance 30", l)
	}
	if l := f.Storage[1].ObjectLock; l != nil {
		t.Fatalf("offsite object_lock = %+v, want none", l)
	}
}

func TestValidateStorageObjectLock(t *testing.T) {
	s3 := func(l *ObjectLock) Storage {
		return Storage{Name: "s3", ProviderType: "s3", Region: "us-east-1", Bucket: "my-backups", AccessKey: "a", SecretKey: "b", ObjectLock: l}
	}
	tests := []struct {
		name string
		s    Storage
		want []string
	}{
		{"none", s3(nil), nil},
		{"governance", s3(&ObjectLock{Mode: "governance", Days: 1}), nil},
		{"compliance max", s3(&ObjectLock{Mode: "compliance", Days: MaxObjectLockDays}), nil},
		{"upper case", s3(&ObjectLock{Mode: "GOVERNANCE", Days: 1}), []string{"object_lock.mode"}},
		{"empty", s3(&ObjectLock{}), []string{"object_lock.mode", "object_lock.days"}},
		{"negative", s3(&ObjectLock{Mode: "governance", Days: -1}), []string{"object_lock.days"}},
		{"local", Storage{Name: "d", ProviderType: "local", Path: "/b", ObjectLock: &ObjectLock{Mode: "governance", Days: 1}}, []string{"object_lock"}},
	}
	for _, tt := range tests {
		tt.s.SetDefaults()
		checkFields(t, tt.name, ValidateStorage(tt.s), tt.want...)
	}
}
