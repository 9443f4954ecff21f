package main

import "github.com/jagad/jagad/state/fault"

func apierrInvalid(err error) error  { return fault.Wrap(fault.CodeInvalid, err.Error(), err) }
func apierrConflict(err error) error { return fault.Wrap(fault.CodeConflict, err.Error(), err) }
