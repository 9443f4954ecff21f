package main

import "runtime/debug"

// defaultMemoryLimit is the Go runtime's soft memory limit for `jagad serve`
// when GOMEMLIMIT is not set.
//
// Why: with the default GOGC=100 the heap grows to twice what is live before
// a collection, and what a backup leaves behind (pipeline buffers, Badger's
// memtable arenas, which are Go heap) is mostly garbage that the runtime then
// keeps. engine/bench/rss.sh measured the daemon at VmHWM 131 MiB after one
// backup and 299 MiB after 10 (VmRSS 263 MiB at idle afterwards). With this
// limit: 91–93 MiB peak, flat over the backups, 46 MiB at idle afterwards,
// backup seconds unchanged, one run at 109.5 MiB. Cost: the daemon's CPU per
// backup rose from 0.83 to 1.14 s (rss.sh): Badger's memtable arenas (2 ×
// 32 MiB, state/open.go) count as live heap even while their pages are
// untouched, so during a backup the heap sits near the limit and the GC runs
// back to back. The limit is soft: when more is live (large
// listings, S3 part buffers) the heap goes past it and the runtime caps GC at
// about half the CPU rather than failing. GOMEMLIMIT in the environment
// (including "off") wins.
const defaultMemoryLimit = 80 << 20

// setMemoryLimit applies defaultMemoryLimit unless GOMEMLIMIT is set.
func setMemoryLimit(env func(string) (string, bool)) {
	if _, ok := env("GOMEMLIMIT"); ok {
		return
	}
	debug.SetMemoryLimit(defaultMemoryLimit)
}
