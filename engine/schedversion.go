package engine

// ScheduleVersion changes whenever the scheduler's answer to ScheduleInfo's
// next run may change at the same instant (a schedule registered, removed
// or run); the next run also moves with the clock, on whole minutes. The
// API reads it, with the store's versions, to tag a schedule list before
// reading it (api/conditional.go).
func (e *Engine) ScheduleVersion() uint64 { return e.sched.Version() }
