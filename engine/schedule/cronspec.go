package schedule

import (
	"errors"
	"time"

	"github.com/go-co-op/gocron/v2"
	robfig "github.com/robfig/cron/v3"

	"github.com/jagad/jagad/config/cron"
)

// maxZonePeriods bounds the time-zone periods one Next call inspects; a
// cron slot is found within five years, about ten periods in any zone.
const maxZonePeriods = 32

// cronSpec is a schedule's cron expression interpreted in settings.timezone
// with Jagad's daylight-saving rules. gocron uses it to plan the job
// (WithCronImplementation), and the tick guard uses the same code, so the two
// always agree on what a slot is.
//
// Daylight-saving rules (wall-clock time in the schedule's zone):
//
//   - Spring forward: a slot whose wall-clock time does not exist that day
//     (02:30 when clocks jump from 02:00 to 03:00) runs once, at the end of
//     the gap (03:00 local). Several slots inside one gap collapse into that
//     one run. robfig/cron alone would skip the day.
//   - Fall back: a wall-clock time that occurs twice (02:30 CEST, then 02:30
//     CET) is a slot once, at its first occurrence. This holds for hourly
//     expressions too: the repeated hour is not run a second time.
//
// floor, when set, returns the instant through which the schedule's slots
// are already consumed (see slotBook); Next never returns a slot at or
// before it, so a job registered again after the clock went back does not
// plan a slot that already ran.
type cronSpec struct {
	expr  string
	loc   *time.Location
	spec  *robfig.SpecSchedule // the expression in loc
	wall  *robfig.SpecSchedule // the same fields, matched against wall-clock times written in UTC
	floor func() time.Time
}

var _ gocron.Cron = (*cronSpec)(nil)

// parseCronSpec parses expr (5 fields or a descriptor, as jagad.yaml
// allows) in loc.
func parseCronSpec(expr string, loc *time.Location) (*cronSpec, error) {
	c := &cronSpec{}
	if err := c.parse(expr, loc); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *cronSpec) parse(expr string, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	ss, err := cron.Parse(expr, loc)
	if err != nil {
		return err
	}
	wall := *ss
	wall.Location = time.UTC
	c.expr, c.loc, c.spec, c.wall = expr, loc, ss, &wall
	return nil
}

// IsValid implements gocron.Cron: it (re)parses crontab in the scheduler's
// location unless the spec already holds exactly that.
func (c *cronSpec) IsValid(crontab string, loc *time.Location, now time.Time) error {
	if c.spec == nil || c.expr != crontab || c.loc.String() != loc.String() {
		if err := c.parse(crontab, loc); err != nil {
			return errors.Join(gocron.ErrCronJobParse, err)
		}
	}
	if c.Next(now).IsZero() {
		return gocron.ErrCronJobInvalid
	}
	return nil
}

// Next implements gocron.Cron: the first slot after t, and after the floor.
func (c *cronSpec) Next(t time.Time) time.Time {
	if c.floor != nil {
		if f := c.floor(); f.After(t) {
			t = f
		}
	}
	return c.next(t)
}

// next is the first slot strictly after t under the daylight-saving rules.
func (c *cronSpec) next(t time.Time) time.Time {
	t = t.In(c.loc)
	n := c.spec.Next(t)
	for i := 0; i < 4 && !n.IsZero() && repeatedWallTime(n); i++ {
		n = c.spec.Next(n)
	}
	if g := c.gapSlot(t, n); !g.IsZero() {
		return g
	}
	return n
}

// repeatedWallTime reports whether n's wall-clock time already occurred
// earlier (n lies in the repeated hour after a fall-back transition).
func repeatedWallTime(n time.Time) bool {
	start, _ := n.ZoneBounds()
	if start.IsZero() {
		return false
	}
	_, offNow := n.Zone()
	_, offBefore := start.Add(-time.Second).Zone()
	back := time.Duration(offBefore-offNow) * time.Second
	return back > 0 && n.Sub(start) < back
}

// gapSlot returns the end of the first spring-forward gap in (t, n) whose
// missing wall-clock times contain a slot, or zero. n zero means "no slot
// within robfig's search horizon": gaps up to five years ahead are checked.
func (c *cronSpec) gapSlot(t, n time.Time) time.Time {
	limit := n
	if limit.IsZero() {
		limit = t.AddDate(5, 0, 0)
	}
	cur := t
	for range maxZonePeriods {
		_, end := cur.ZoneBounds()
		if end.IsZero() || !end.Before(limit) {
			return time.Time{}
		}
		_, offBefore := cur.Zone()
		_, offAfter := end.Zone()
		if gap := time.Duration(offAfter-offBefore) * time.Second; gap > 0 {
			// Wall-clock start of the gap, written as a UTC time.
			wallStart := end.Add(time.Duration(offBefore) * time.Second).UTC()
			if m := c.wall.Next(wallStart.Add(-time.Second)); !m.IsZero() && m.Before(wallStart.Add(gap)) {
				return end.In(c.loc)
			}
		}
		cur = end
	}
	return time.Time{}
}
