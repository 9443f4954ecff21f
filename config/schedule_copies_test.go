package config

import "testing"

func TestCopiesToShorthandAndObject(t *testing.T) {
	f := loadGood(t, "testdata/good/copies.yaml")
	got := f.Schedules[0].CopiesTo
	if len(got) != 2 {
		t.Fatalf("copies_to = %+v, want 2 targets", got)
	}
	if got[0].Storage != "offsite" || got[0].RetentionFull != nil || got[0].KeepMonthly != 0 {
		t.Errorf("copies_to[0] = %+v, want {storage: offsite} with no retention of its own", got[0])
	}
	if got[1].Storage != "vault" || got[1].KeepMonthly != 12 || got[1].RetentionFull == nil || *got[1].RetentionFull != 5 {
		t.Errorf("copies_to[1] = %+v, want vault with keep_monthly 12, retention_full 5", got[1])
	}
	if n := len(f.Schedules[1].CopiesTo); n != 0 {
		t.Errorf("an empty copies_to decoded to %d targets", n)
	}
}

func TestValidateScheduleCopies(t *testing.T) {
	base := Schedule{Name: "s", Connection: "pg", Database: "app", BackupType: "full", CronExpr: "@daily",
		Storage: "local", Timeout: Duration(DefaultTimeout)}
	zero, five := 0, 5
	tests := []struct {
		name   string
		copies []CopyTarget
		want   []string // fields with an error
	}{
		{"none", nil, nil},
		{"two", []CopyTarget{{Storage: "a"}, {Storage: "b", RetentionFull: &five}}, nil},
		{"empty name", []CopyTarget{{Storage: ""}}, []string{"copies_to[0].storage"}},
		{"duplicate", []CopyTarget{{Storage: "a"}, {Storage: "a"}}, []string{"copies_to[1].storage"}},
		{"primary", []CopyTarget{{Storage: "local"}}, []string{"copies_to[0].storage"}},
		{"retention", []CopyTarget{{Storage: "a", RetentionFull: &zero, KeepYearly: -1, KeepWithin: -1}},
			[]string{"copies_to[0].retention_full", "copies_to[0].keep_yearly", "copies_to[0].keep_within"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			s.CopiesTo = tt.copies
			var got []string
			for _, e := range ValidateSchedule(s) {
				got = append(got, e.Field)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("errors on %v, want on %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("error %d on %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
