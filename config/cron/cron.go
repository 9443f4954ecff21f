// Package cron parses the cron expressions jagad.yaml allows. It is pure
// (the standard library and robfig/cron only), so config validates with it
// and the engine's scheduler plans with it without pulling in config's YAML.
package cron

import (
	"fmt"
	"slices"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// Descriptors are the @ forms a cron expression may take.
var Descriptors = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}

// Parse parses a schedule's cron expression the way gocron does (robfig/cron
// ParseStandard) but accepts only what jagad.yaml allows: five fields
// (minute hour day-of-month month day-of-week) or one of @hourly, @daily,
// @midnight, @weekly, @monthly, @yearly, @annually. Seconds fields, @every
// and CRON_TZ= prefixes are rejected, as are expressions that never fire
// (such as 30 February). The schedule runs in loc (nil means UTC).
func Parse(expr string, loc *time.Location) (*robfig.SpecSchedule, error) {
	spec := strings.TrimSpace(expr)
	if loc == nil {
		loc = time.UTC
	}
	switch {
	case spec == "":
		return nil, fmt.Errorf("cron expression is empty")
	case strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ="):
		return nil, fmt.Errorf("cron expression %q: a TZ prefix is not supported; set settings.timezone", expr)
	case strings.HasPrefix(spec, "@every"):
		return nil, fmt.Errorf("cron expression %q: @every is not supported; use 5 fields or @hourly/@daily/@weekly/@monthly/@yearly", expr)
	case strings.HasPrefix(spec, "@"):
		if !slices.Contains(Descriptors, spec) {
			return nil, fmt.Errorf("cron expression %q: unknown descriptor (want one of %s)", expr, strings.Join(Descriptors, ", "))
		}
	default:
		if n := len(strings.Fields(spec)); n == 6 {
			return nil, fmt.Errorf("cron expression %q has 6 fields; seconds are not supported, use 5 fields: minute hour day-of-month month day-of-week", expr)
		} else if n != 5 {
			return nil, fmt.Errorf("cron expression %q has %d fields, want 5: minute hour day-of-month month day-of-week", expr, n)
		}
	}
	s, err := robfig.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("cron expression %q: %v", expr, err)
	}
	ss, ok := s.(*robfig.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("cron expression %q: unsupported schedule", expr)
	}
	ss.Location = loc
	// 2000 is a leap year, so 29 February is found within robfig's 5-year search.
	if ss.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return nil, fmt.Errorf("cron expression %q never fires", expr)
	}
	return ss, nil
}
