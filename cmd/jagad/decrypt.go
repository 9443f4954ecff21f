package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/jagad/jagad/engine/crypt"
)

const decryptLong = `Decrypts a .jgd object (stdin, or -i IN) to stdout (or -o OUT). Needs no
daemon and no data dir. The key may be a raw key or a passphrase; it is used
for whatever key id the object's header names. With no --key/--key-file the
key is read from $JAGAD_ENCRYPTION_KEY. Prefer --key-file or the
environment: --key puts the secret in the process list.

Output to stdout is streamed: on failure (exit 1) what was written is
incomplete and must be discarded. Write to a temporary file (or use -o) and
keep it only when the exit status is 0. -o FILE writes the plaintext to a
temporary file beside FILE and renames it to FILE only after the final chunk
verified; the temporary file is removed on failure.

Exit status: 0 the whole object verified and was written, 1 failure,
2 usage error.`

type decryptArgs struct {
	key, keyFile, input, output string
	identities                  []string
}

// decryptCommand is `jagad decrypt`: it exits 0 only when the whole object
// verified and was written.
func (a *app) decryptCommand() *cobra.Command {
	d := &decryptArgs{}
	cmd := &cobra.Command{
		Use:   "decrypt (--key-file FILE | --identity FILE | --key KEY) [-i IN] [-o OUT]",
		Short: "Decrypt a .jgd object offline",
		Long:  decryptLong,
		Args:  noArgs("use -i FILE or stdin"),
		RunE: func(*cobra.Command, []string) error {
			return decryptObject(d, a.stdin, a.stdout, a.env)
		},
	}
	f := cmd.Flags()
	f.StringVar(&d.keyFile, "key-file", "", "`FILE` holding the key (one line; trailing newline ignored)")
	f.StringVar(&d.key, "key", "", "the `KEY` itself (discouraged: it shows in the process list)")
	f.StringArrayVar(&d.identities, "identity", nil, "age identity `FILE` for the recovery stanza (repeatable)")
	f.StringVarP(&d.input, "input", "i", "", "read the object from `FILE` instead of stdin")
	f.StringVarP(&d.output, "output", "o", "", "write the plaintext to `FILE` atomically, only once it verified")
	return cmd
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
