package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"filippo.io/age"

	"github.com/jagad/jagad/engine/crypt"
)

const keygenUsage = `Usage: jagad keygen [--age] [-o FILE]

Prints a new random 32-byte encryption key (standard base64) for the
encryption keyring (jagad.yaml encryption.keys[].key, or JAGAD_ENCRYPTION_KEY).

  --age       print a new age X25519 identity instead (an age identity file);
              its recipient ("age1...") goes in encryption.recovery_recipient,
              the identity is kept offline for "jagad decrypt --identity".
              The recipient is also printed to stderr.
  -o FILE     write to FILE (created with mode 0600; never overwritten)
              instead of stdout.
  -h, --help  show this help

Exit status: 0 success, 1 failure, 2 usage error.
`

// runKeygen implements "jagad keygen". It returns the process exit code:
// 0 success (--help included), 1 failure, 2 usage error.
func runKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	withAge := fs.Bool("age", false, "")
	var output string
	fs.StringVar(&output, "o", "", "")
	fs.StringVar(&output, "output", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, keygenUsage)
			return 0
		}
		fmt.Fprintln(stderr, "Run 'jagad keygen --help' for usage.")
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "jagad keygen: unexpected argument %q\nRun 'jagad keygen --help' for usage.\n", fs.Arg(0))
		return 2
	}
	text, recipient, err := keygenText(*withAge)
	if err != nil {
		fmt.Fprintf(stderr, "jagad keygen: %v\n", err)
		return 1
	}
	if err := writeSecret(output, stdout, text); err != nil {
		fmt.Fprintf(stderr, "jagad keygen: %v\n", err)
		return 1
	}
	if recipient != "" {
		fmt.Fprintf(stderr, "Public key: %s\n", recipient)
	}
	return 0
}

// keygenText returns the text to print and, for --age, the recipient.
func keygenText(withAge bool) (string, string, error) {
	if !withAge {
		k, err := crypt.GenerateKey()
		return k + "\n", "", err
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", "", fmt.Errorf("generate age identity: %w", err)
	}
	r := id.Recipient().String()
	return fmt.Sprintf("# jagad recovery identity: keep offline\n# public key: %s\n%s\n", r, id), r, nil
}

// writeSecret writes text to stdout, or to a new 0600 file.
func writeSecret(path string, stdout io.Writer, text string) error {
	if path == "" {
		_, err := io.WriteString(stdout, text)
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
