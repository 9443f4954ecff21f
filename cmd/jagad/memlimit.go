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
// backup seconds unchanged. The limit is soft: when more is live (large
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
