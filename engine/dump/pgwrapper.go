package dump

import (
	"path/filepath"
)

// pgLibDir is where Debian and Ubuntu install each PostgreSQL version's
// programs (/usr/lib/postgresql/<version>/bin).
const pgLibDir = "/usr/lib/postgresql"

// unwrapPg returns the program Debian's pg_wrapper would start for path,
// or path itself. On Debian and Ubuntu /usr/bin/pg_dump, pg_restore,
// pg_basebackup ... are links to postgresql-common's pg_wrapper, a Perl
// script that picks a version and execs /usr/lib/postgresql/<v>/bin/<name>:
// about 0.1 s per start, twice per backup (--version, then the dump), a
// tenth of a 70 MB backup (engine/bench/run.sh). Jagad runs the newest
// installed version directly (pg_wrapper's choice for a server that is not a
// local cluster; a newer client dumps and restores older servers); a tool
// path set in the configuration is used as given.
func unwrapPg(path string) string {
	return unwrapPgIn(pgLibDir, path)
}

func unwrapPgIn(libDir, path string) string {
	real, err := filepath.EvalSymlinks(path)
	if err != nil || filepath.Base(real) != "pg_wrapper" {
		return path
	}
	if p := newestPgBin(libDir, filepath.Base(path)); p != "" {
		return p
	}
	return path
}

// newestPgBin returns libDir/<newest version>/bin/name, "" when no version
// has it. Versions compare as numbers (9.6 before 15).
func newestPgBin(libDir, name string) string {
	found, _ := filepath.Glob(filepath.Join(libDir, "*", "bin", name))
	best, bestV := "", -1
	for _, p := range found {
		v, ok := pgMajor(filepath.Base(filepath.Dir(filepath.Dir(p))))
		if !ok || v <= bestV {
			continue
		}
		if _, err := checkExecutable(p); err == nil {
			best, bestV = p, v
		}
	}
	return best
}
