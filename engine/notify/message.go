package notify

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// logTailBytes is how much of the job log a notification carries.
const logTailBytes = 500

// Message renders ev as the original Jagad chat text (its CODE format):
//
//	*✅ Backup SUCCESS*
//	Database: `myapp` (postgresql)
//	Size: 523.40 KB
//	Duration: 3.2 sec
//	Backup ID: `bck_abc`
//	```<last 500 characters of the log>```
//
// The log block is appended whenever the log is non-empty, success too. A
// failure with an empty log carries ev.Error in the block instead, so the
// reason is never lost. verify.* events say "Verify" instead of "Backup";
// config.failed events carry only the title and the error block.
func Message(ev Event) string {
	var b strings.Builder
	emoji := "❌"
	if ev.Status == "success" {
		emoji = "✅"
	}
	if strings.HasPrefix(ev.Kind, "config.") {
		fmt.Fprintf(&b, "*%s Config reload %s*", emoji, strings.ToUpper(ev.Status))
		appendBlock(&b, firstNonEmpty(ev.Error, ev.Log))
		return b.String()
	}
	subject := "Backup"
	switch {
	case strings.HasPrefix(ev.Kind, "verify."):
		subject = "Verify"
	case strings.HasPrefix(ev.Kind, "backup.copy"):
		subject = "Backup copy"
	}
	fmt.Fprintf(&b, "*%s %s %s*\n", emoji, subject, strings.ToUpper(ev.Status))
	fmt.Fprintf(&b, "Database: `%s` (%s)\n", ev.Database, ev.DBType)
	fmt.Fprintf(&b, "Size: %s\n", FormatSize(ev.SizeBytes))
	fmt.Fprintf(&b, "Duration: %s\n", FormatDuration(ev.DurationMs))
	fmt.Fprintf(&b, "Backup ID: `%s`", ev.BackupID)
	block := ev.Log
	if block == "" && ev.Status != "success" {
		block = ev.Error
	}
	appendBlock(&b, block)
	return b.String()
}

func appendBlock(b *strings.Builder, text string) {
	if text == "" {
		return
	}
	b.WriteString("\n```")
	b.WriteString(LogTail(text))
	b.WriteString("```")
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// LogTail returns the last 500 bytes of log, as the original does, moved
// forward to a UTF-8 character boundary so the text stays valid UTF-8.
func LogTail(log string) string {
	if len(log) <= logTailBytes {
		return log
	}
	start := len(log) - logTailBytes
	for start < len(log) && !utf8.RuneStart(log[start]) {
		start++
	}
	return log[start:]
}

// FormatSize renders a byte count as the original: > 1 GiB "%.2f GB",
// > 1 MiB "%.2f MB", > 1 KiB "%.2f KB", else "%d B"; unknown (<= 0) is "—".
func FormatSize(n int64) string {
	const (
		kb = 1024
		mb = 1024 * kb
		gb = 1024 * mb
	)
	switch {
	case n <= 0:
		return "—"
	case n > gb:
		return fmt.Sprintf("%.2f GB", float64(n)/gb)
	case n > mb:
		return fmt.Sprintf("%.2f MB", float64(n)/mb)
	case n > kb:
		return fmt.Sprintf("%.2f KB", float64(n)/kb)
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// FormatDuration renders milliseconds as the original: > 60000 "%.1f min",
// > 1000 "%.1f sec", else "%d ms"; unknown (<= 0) is "—".
func FormatDuration(ms int64) string {
	switch {
	case ms <= 0:
		return "—"
	case ms > 60000:
		return fmt.Sprintf("%.1f min", float64(ms)/60000)
	case ms > 1000:
		return fmt.Sprintf("%.1f sec", float64(ms)/1000)
	default:
		return fmt.Sprintf("%d ms", ms)
	}
}
