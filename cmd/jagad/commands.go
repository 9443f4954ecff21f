package main

import (
	"fmt"
	"io"

	"github.com/jagad/jagad/api/client"
	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine/crypt"
)

func runValidate(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	return config.RunValidate(args, stdin, stdout, stderr, env)
}

const planUsage = `Usage: jagad plan [-f FILE|-] [--timeout D]

Sends a jagad.yaml to a running daemon and prints what applying it would
change; nothing is applied.

  -f FILE       the file to plan; - reads standard input (default jagad.yaml)
  --timeout D   request timeout (default 30s)
  -h, --help    show this help

Environment: JAGAD_URL (default http://127.0.0.1:8080); JAGAD_TOKEN, or
JAGAD_USER and JAGAD_PASSWORD to log in (the session is logged out after).

Exit status: 0 no change, 2 changes, 1 error (usage errors included: 2 means
"changes" here).
`

func runPlan(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	if wantsHelp(args) {
		fmt.Fprint(stdout, planUsage)
		return exitOK
	}
	return client.RunPlan(args, stdin, stdout, stderr, env)
}

func runKeygen(args []string, stdout, stderr io.Writer) int {
	return crypt.RunKeygen(args, stdout, stderr)
}

func runDecrypt(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	return crypt.RunDecrypt(args, stdin, stdout, stderr, env)
}
