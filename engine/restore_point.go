package engine

import "github.com/jagad/jagad/state"

// stampPoint records on a restore the point in time its request asked
// for: point_in_time (the recovery target as one string) and the request's
// own target_time, target_lsn or latest, so GET /api/restores/{id} shows
// what was asked for beside the base backup that was chosen (backup_id).
func stampPoint(rec *state.Restore, req RestoreRequest) {
	if req.TargetTime != nil {
		t := req.TargetTime.UTC()
		rec.TargetTime = &t
	}
	rec.TargetLSN, rec.Latest = req.TargetLSN, req.Latest
	if rec.PointInTime == "" {
		rec.PointInTime = pointInTime(req)
	}
}
