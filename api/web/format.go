package web

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/state"
)

// funcs are the templates' helpers.
func funcs(now func() time.Time) template.FuncMap {
	return template.FuncMap{
		"bytes":  humanBytes,
		"copies": copiesCount,
		"ts": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				if v.IsZero() {
					return "—"
				}
				return v.UTC().Format("2006-01-02 15:04:05 UTC")
			case *time.Time:
				if v == nil || v.IsZero() {
					return "—"
				}
				return v.UTC().Format("2006-01-02 15:04:05 UTC")
			}
			return "—"
		},
		"iso": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		},
		"ago": func(t *time.Time) string {
			if t == nil {
				return "never"
			}
			return humanDur(now().Sub(*t)) + " ago"
		},
		"in": func(t *time.Time) string {
			if t == nil {
				return "—"
			}
			d := t.Sub(now())
			if d < 0 {
				return "due now"
			}
			return "in " + humanDur(d)
		},
		"dur":   humanDur,
		"durMs": func(ms int64) string { return humanDur(time.Duration(ms) * time.Millisecond) },
		"sdur":  func(d state.Duration) string { return humanDur(time.Duration(d)) },
		"godur": func(d state.Duration) string { return time.Duration(d).String() },
		"pct":   func(f float64) string { return fmt.Sprintf("%.1f%%", f) },
		"pctp": func(f *float64) string {
			if f == nil {
				return ""
			}
			return fmt.Sprintf("%.0f%%", *f)
		},
		"pctv": func(f *float64) string {
			if f == nil {
				return ""
			}
			return fmt.Sprintf("%.1f", *f)
		},
		"short": func(s string) string {
			if len(s) > 16 {
				return s[:16] + "…"
			}
			return s
		},
		"deref":     func(b *bool) bool { return b != nil && *b },
		"rate":      func(f float64) string { return humanBytes(int64(f)) + "/s" },
		"add":       func(a, b int) int { return a + b },
		"maxChecks": func() int { return state.MaxBackupChecks },
		"isoLocal":  func(t *time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") },
		"list":      func(s ...string) []string { return s },
		"slice1": func(p *engine.Progress) []engine.Progress {
			if p == nil {
				return nil
			}
			return []engine.Progress{*p}
		},
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func humanDur(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		h := int(d.Hours())
		m := int(d.Minutes()) - 60*h
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// chart is a schedule's recent backups drawn as two SVG polylines
// (size and duration), scaled to a 300×60 box.
type chart struct {
	Schedule        string
	SizePts, DurPts string
	MaxSize         int64
	MaxDur          time.Duration
	Count           int
	LastSize        int64
	LastDur         time.Duration
}

const chartW, chartH, chartPoints = 300.0, 60.0, 30

// chartBackups: a chart plots the successes among a schedule's newest
// backups this many.
const chartBackups = 3 * chartPoints

// scheduleCharts draws the charts from the rows' recent backups (read
// with at least chartBackups).
func scheduleCharts(rows []scheduleRow) []chart {
	var out []chart
	for _, r := range rows {
		var ok []state.Backup
		for _, b := range r.recent[:min(len(r.recent), chartBackups)] {
			if b.Status == state.StatusSuccess && len(ok) < chartPoints {
				ok = append(ok, b)
			}
		}
		if len(ok) < 2 {
			continue
		}
		slices.Reverse(ok) // oldest first
		c := chart{Schedule: r.Name, Count: len(ok), LastSize: ok[len(ok)-1].SizeBytes,
			LastDur: time.Duration(ok[len(ok)-1].DurationMs) * time.Millisecond}
		for _, b := range ok {
			c.MaxSize = max(c.MaxSize, b.SizeBytes)
			c.MaxDur = max(c.MaxDur, time.Duration(b.DurationMs)*time.Millisecond)
		}
		var sp, dp strings.Builder
		for i, b := range ok {
			x := chartW * float64(i) / float64(len(ok)-1)
			fmt.Fprintf(&sp, "%.1f,%.1f ", x, scale(float64(b.SizeBytes), float64(c.MaxSize)))
			fmt.Fprintf(&dp, "%.1f,%.1f ", x, scale(float64(b.DurationMs), float64(c.MaxDur.Milliseconds())))
		}
		c.SizePts, c.DurPts = strings.TrimSpace(sp.String()), strings.TrimSpace(dp.String())
		out = append(out, c)
	}
	return out
}

// scale maps v in [0, top] to a y coordinate (top of the box is 0), with a
// 4-unit margin.
func scale(v, top float64) float64 {
	if top <= 0 {
		return chartH - 4
	}
	return math.Round((chartH-4-(chartH-8)*v/top)*10) / 10
}
