//go:build !race

package clustere2e

const raceEnabled = false
