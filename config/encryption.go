package config

import (
	"strconv"
	"strings"

	"filippo.io/age"
)

// ValidateEncryption checks the keyring: at least one key, unique
// object-key-safe ids, non-empty keys, an active_key among the ids, and an
// optional age X25519 recovery recipient.
func ValidateEncryption(e Encryption) []FieldError {
	var errs fieldErrs
	if len(e.Keys) == 0 {
		errs.add("keys", "at least one key is required")
	}
	ids := map[string]bool{}
	for i, k := range e.Keys {
		prefix := "keys[" + strconv.Itoa(i) + "]."
		if err := CheckName(k.ID); err != nil {
			errs.addErr(prefix+"id", err)
		} else if ids[k.ID] {
			errs.add(prefix+"id", "duplicate key id %q", k.ID)
		}
		ids[k.ID] = true
		if k.Key == "" {
			errs.add(prefix+"key", "is required")
		}
	}
	switch {
	case e.ActiveKey == "":
		errs.add("active_key", "is required")
	case !ids[e.ActiveKey]:
		errs.add("active_key", "%q is not one of the key ids", e.ActiveKey)
	}
	if r := e.RecoveryRecipient; r != "" {
		if !strings.HasPrefix(r, "age1") {
			errs.add("recovery_recipient", "must be an age X25519 recipient starting with age1")
		} else if _, err := age.ParseX25519Recipient(r); err != nil {
			errs.add("recovery_recipient", "is not a valid age X25519 recipient")
		}
	}
	return errs
}
