package storage

import "syscall"

// Errors the local store classifies.
var (
	errNoSpace = syscall.ENOSPC
	errNotDir  = syscall.ENOTDIR
)
