package main

import (
	"io"

	"github.com/jagad/jagad/api/apierr"
	"github.com/jagad/jagad/api/client"
	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine/crypt"
)

func runValidate(args []string, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	return config.RunValidate(args, stdout, stderr, env)
}

func runPlan(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	return client.RunPlan(args, stdin, stdout, stderr, env)
}

func runKeygen(args []string, stdout, stderr io.Writer) int {
	return crypt.RunKeygen(args, stdout, stderr)
}

func runDecrypt(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	return crypt.RunDecrypt(args, stdin, stdout, stderr, env)
}

func apierrInvalid(err error) error  { return apierr.Wrap(apierr.CodeInvalid, err.Error(), err) }
func apierrConflict(err error) error { return apierr.Wrap(apierr.CodeConflict, err.Error(), err) }
