package main

import (
	"fmt"
	"io"
	"os"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/jagad/jagad/engine/crypt"
)

const keygenLong = `Prints a new random 32-byte encryption key (standard base64) for the
encryption keyring (jagad.yaml encryption.keys[].key, or JAGAD_ENCRYPTION_KEY).

With --age it prints a new age X25519 identity instead (an age identity
file): its recipient ("age1...") goes in encryption.recovery_recipient, the
identity is kept offline for "jagad decrypt --identity". The recipient is
also printed to stderr.

Exit status: 0 success, 1 failure, 2 usage error.`

// keygenCommand is `jagad keygen [--age] [-o FILE]`.
func (a *app) keygenCommand() *cobra.Command {
	var withAge bool
	var output string
	cmd := &cobra.Command{
		Use:   "keygen [--age] [-o FILE]",
		Short: "Print a new encryption key or age recovery identity",
		Long:  keygenLong,
		Args:  noArgs(""),
		RunE: func(*cobra.Command, []string) error {
			text, recipient, err := keygenText(withAge)
			if err != nil {
				return err
			}
			if err := writeSecret(output, a.stdout, text); err != nil {
				return err
			}
			if recipient != "" {
				fmt.Fprintf(a.stderr, "Public key: %s\n", recipient)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&withAge, "age", false, "print a new age X25519 identity instead of a key")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to `FILE` (created with mode 0600; never overwritten) instead of stdout")
	return cmd
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
