package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/jagad/jagad/engine/crypt"
)

const decryptUsage = `Usage: jagad decrypt (--key-file FILE | --identity FILE | --key KEY) [-i IN] [-o OUT]

Decrypts a .jgd object (stdin, or -i IN) to stdout (or -o OUT). Needs no daemon
and no data dir. The key may be a raw key or a passphrase; it is used for
whatever key id the object's header names. With no --key/--key-file the key is
read from $JAGAD_ENCRYPTION_KEY. Prefer --key-file or the environment: --key
puts the secret in the process list.

  --key-file FILE  file holding the key (one line; trailing newline ignored)
  --key KEY        the key itself (discouraged)
  --identity FILE  age identity file for the recovery stanza (repeatable)
  -i, --input FILE read the object from FILE instead of stdin
  -o, --output FILE write the plaintext to a temporary file beside FILE and
                   rename it to FILE only after the final chunk verified;
                   the temporary file is removed on failure
  -h, --help       show this help

Output to stdout is streamed: on failure (exit 1) what was written is
incomplete and must be discarded. Write to a temporary file (or use -o) and
keep it only when the exit status is 0.

Exit status: 0 the whole object verified and was written, 1 failure,
2 usage error.
`

type decryptArgs struct {
	key, keyFile, input, output string
	identities                  []string
}

// parseDecryptArgs parses the command line of "jagad decrypt".
func parseDecryptArgs(args []string, stdout, stderr io.Writer) (*decryptArgs, int, bool) {
	fs := flag.NewFlagSet("decrypt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	a := &decryptArgs{}
	fs.StringVar(&a.key, "key", "", "")
	fs.StringVar(&a.keyFile, "key-file", "", "")
	fs.Func("identity", "", func(s string) error { a.identities = append(a.identities, s); return nil })
	for _, n := range []string{"i", "input"} {
		fs.StringVar(&a.input, n, "", "")
	}
	for _, n := range []string{"o", "output"} {
		fs.StringVar(&a.output, n, "", "")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, decryptUsage)
			return nil, 0, false
		}
		fmt.Fprintln(stderr, "Run 'jagad decrypt --help' for usage.")
		return nil, 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "jagad decrypt: unexpected argument %q (use -i FILE or stdin)\nRun 'jagad decrypt --help' for usage.\n", fs.Arg(0))
		return nil, 2, false
	}
	return a, 0, true
}

// runDecrypt implements "jagad decrypt". It returns the process exit code:
// 0 only when the whole object verified and was written.
func runDecrypt(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	a, code, ok := parseDecryptArgs(args, stdout, stderr)
	if !ok {
		return code
	}
	if err := decryptObject(a, stdin, stdout, env); err != nil {
		fmt.Fprintf(stderr, "jagad decrypt: %v\n", err)
		return 1
	}
	return 0
}

func decryptObject(a *decryptArgs, stdin io.Reader, stdout io.Writer, env func(string) (string, bool)) error {
	key, err := a.resolveKey(env)
	if err != nil {
		return err
	}
	ids, err := crypt.LoadIdentities(a.identities)
	if err != nil {
		return err
	}
	if key == "" && len(ids) == 0 {
		return fmt.Errorf("no key: use --key-file FILE, $%s, --identity FILE or --key", crypt.EnvKey)
	}
	in := stdin
	if a.input != "" {
		f, err := os.Open(a.input)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	r, err := crypt.OpenWithKey(in, key, ids)
	if err != nil {
		return err
	}
	if a.output == "" {
		if _, err := io.Copy(stdout, r); err != nil {
			return fmt.Errorf("%w (output is incomplete: discard it)", err)
		}
		return nil
	}
	return writeAtomic(a.output, r)
}

// resolveKey picks the key from --key, --key-file or the environment.
func (a *decryptArgs) resolveKey(env func(string) (string, bool)) (string, error) {
	switch {
	case a.key != "" && a.keyFile != "":
		return "", errors.New("--key and --key-file are mutually exclusive")
	case a.key != "":
		return a.key, nil
	case a.keyFile != "":
		return crypt.ReadKeyFile(a.keyFile)
	}
	if env != nil {
		if v, ok := env(crypt.EnvKey); ok {
			return v, nil
		}
	}
	return "", nil
}

// writeAtomic streams r to a temporary file beside path and renames it to
// path only when r reached a verified io.EOF.
func writeAtomic(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
