package main

import (
	"errors"
	"strconv"
	"strings"
)

// sizeUnits are the suffixes parseMinFree accepts, longest first.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseMinFree reads --min-free-space: a size such as 512MiB or 2GiB (or
// plain bytes); "" means the store's default and "off" no guard at all,
// both as state.Options.MinFreeBytes spells them (0 and -1).
func parseMinFree(v string) (int64, error) {
	v = strings.TrimSpace(v)
	switch v {
	case "":
		return 0, nil
	case "off":
		return -1, nil
	}
	mult := int64(1)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, errors.New("want a size such as 512MiB, 2GiB or a number of bytes, or off")
	}
	return n * mult, nil
}

// minFreeHelp is the flag's help text.
const minFreeHelp = "free space of the data dir below which writes are refused with 507 (e.g. 512MiB; empty: max(64MiB, 2 × Badger's memtable); off: no guard)"
