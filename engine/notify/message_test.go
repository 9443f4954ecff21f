package notify

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFormatSize(t *testing.T) {
	tests := []struct {
		name string
		in   int64
		want string
	}{
		{"unknown", 0, "—"},
		{"negative is unknown", -5, "—"},
		{"one byte", 1, "1 B"},
		{"exactly 1 KiB stays bytes", 1024, "1024 B"},
		{"just above 1 KiB", 1025, "1.00 KB"},
		{"reference example", 535940, "523.38 KB"},
		{"exactly 1 MiB stays KB", 1048576, "1024.00 KB"},
		{"just above 1 MiB", 1048577, "1.00 MB"},
		{"exactly 1 GiB stays MB", 1073741824, "1024.00 MB"},
		{"just above 1 GiB", 1073741825, "1.00 GB"},
		{"five GiB", 5 << 30, "5.00 GB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatSize(tt.in); got != tt.want {
				t.Errorf("FormatSize(%d) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		name string
		in   int64
		want string
	}{
		{"unknown", 0, "—"},
		{"small", 5, "5 ms"},
		{"exactly one second stays ms", 1000, "1000 ms"},
		{"just above one second", 1001, "1.0 sec"},
		{"reference example", 3240, "3.2 sec"},
		{"exactly one minute stays sec", 60000, "60.0 sec"},
		{"just above one minute", 60001, "1.0 min"},
		{"ninety seconds", 90000, "1.5 min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatDuration(tt.in); got != tt.want {
				t.Errorf("FormatDuration(%d) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLogTail(t *testing.T) {
	long := strings.Repeat("a", 100) + strings.Repeat("b", 500)
	if got := LogTail(long); got != strings.Repeat("b", 500) {
		t.Errorf("LogTail kept %d bytes starting %q", len(got), got[:5])
	}
	if got := LogTail("short log"); got != "short log" {
		t.Errorf("LogTail(short) = %q", got)
	}
	// A 3-byte rune straddling the cut is dropped whole, never split.
	multi := "€" + strings.Repeat("x", 499) // 502 bytes; the cut falls inside "€"
	got := LogTail(multi)
	if got != strings.Repeat("x", 499) || !utf8.ValidString(got) {
		t.Errorf("LogTail split a rune: %q (len %d)", got, len(got))
	}
}

func successEvent() Event {
	return Event{
		Kind: KindBackupSucceeded, Status: "success", BackupID: "bck_abc123",
		Schedule: "nightly", Connection: "prod-pg", Database: "myapp_production",
		DBType: "postgresql", BackupType: "full",
		StoragePath: "backups/prod-pg/myapp_production/bck_abc123-20260101-020000.pgdump.gz",
		SizeBytes:   535940, DurationMs: 3240,
		Log: "BACKUP: streaming postgresql myapp_production\nDUMP: done",
	}
}

func failureEvent() Event {
	return Event{
		Kind: KindBackupFailed, Status: "failed", BackupID: "bck_def456",
		Schedule: "nightly", Connection: "prod-pg", Database: "myapp_production",
		DBType: "postgresql", BackupType: "full",
		Log:   strings.Repeat("x", 50) + strings.Repeat("y", 480) + "\nERROR: connection refused",
		Error: "pg_dump exited 1",
	}
}

func TestMessage(t *testing.T) {
	fail := failureEvent()
	tail := strings.Repeat("y", 474) + "\nERROR: connection refused" // last 500 of 556 bytes
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"success with log", successEvent(),
			"*✅ Backup SUCCESS*\nDatabase: `myapp_production` (postgresql)\nSize: 523.38 KB\nDuration: 3.2 sec\n" +
				"Backup ID: `bck_abc123`\n```BACKUP: streaming postgresql myapp_production\nDUMP: done```"},
		{"failure keeps the last 500 chars of the log", fail,
			"*❌ Backup FAILED*\nDatabase: `myapp_production` (postgresql)\nSize: —\nDuration: —\n" +
				"Backup ID: `bck_def456`\n```" + tail + "```"},
		{"failure without log carries the error", Event{Kind: KindBackupFailed, Status: "failed",
			Database: "db", DBType: "mysql", BackupID: "b1", Error: "mysqldump: access denied"},
			"*❌ Backup FAILED*\nDatabase: `db` (mysql)\nSize: —\nDuration: —\nBackup ID: `b1`\n```mysqldump: access denied```"},
		{"success without log has no block", Event{Kind: KindBackupSucceeded, Status: "success",
			Database: "db", DBType: "mariadb", BackupID: "b2", SizeBytes: 10, DurationMs: 70000},
			"*✅ Backup SUCCESS*\nDatabase: `db` (mariadb)\nSize: 10 B\nDuration: 1.2 min\nBackup ID: `b2`"},
		{"original test event", TestEvent(),
			"*✅ Backup SUCCESS*\nDatabase: `test-db` (test)\nSize: 1024.00 KB\nDuration: 5.0 sec\n" +
				"Backup ID: ``\n```Test notification from Jagad```"},
		{"verify failure", Event{Kind: KindVerifyFailed, Status: "failed", Database: "db", DBType: "postgresql",
			BackupID: "b3", Error: "checksum mismatch"},
			"*❌ Verify FAILED*\nDatabase: `db` (postgresql)\nSize: —\nDuration: —\nBackup ID: `b3`\n```checksum mismatch```"},
		{"copy failure", Event{Kind: KindBackupCopyFailed, Status: "failed", Database: "db", DBType: "postgresql",
			BackupID: "b4", Error: "copy to offsite failed: connection reset"},
			"*❌ Backup copy FAILED*\nDatabase: `db` (postgresql)\nSize: —\nDuration: —\nBackup ID: `b4`\n```copy to offsite failed: connection reset```"},
		{"config failure", Event{Kind: KindConfigFailed, Status: "failed", Error: "jagad.yaml:3:1: unknown key"},
			"*❌ Config reload FAILED*\n```jagad.yaml:3:1: unknown key```"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Message(tt.ev); got != tt.want {
				t.Errorf("Message() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func FuzzLogTail(f *testing.F) {
	f.Add(strings.Repeat("é", 300))
	f.Add(strings.Repeat("a", 499) + "€€")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		got := LogTail(s)
		if !strings.HasSuffix(s, got) {
			t.Fatalf("LogTail(%q) = %q is not a suffix", s, got)
		}
		if len(got) > logTailBytes {
			t.Fatalf("LogTail kept %d bytes", len(got))
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("LogTail broke UTF-8: %q", got)
		}
		if len(s) <= logTailBytes && got != s {
			t.Fatalf("LogTail cut a short log")
		}
		if len(s) > logTailBytes && len(got) < logTailBytes-utf8.UTFMax {
			t.Fatalf("LogTail kept only %d bytes", len(got))
		}
	})
}
