package reconcile

// Outcome is how one reload ended (Result.Result, the status history and
// the jagad_config_reloads_total label).
type Outcome string

// Reload outcomes.
const (
	// OutcomeApplied: the plan changed the store.
	OutcomeApplied Outcome = "applied"
	// OutcomeUnchanged: the file and the store already agreed.
	OutcomeUnchanged Outcome = "unchanged"
	// OutcomeFailed: the file could not be read, parsed, validated or
	// applied; the last good config stays in force.
	OutcomeFailed Outcome = "failed"
	// OutcomeHeld: the prune guard holds the plan until it is confirmed.
	OutcomeHeld Outcome = "held"
)
