package storage

import (
	"errors"
	"fmt"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/jagad/jagad/config/word"
	"github.com/jagad/jagad/engine/netguard"
)

// s3Error is an S3 failure translated at the boundary: the operation, the
// key, and the service's own code and message, with the secret key scrubbed.
type s3Error struct {
	op, key string
	code    string // e.g. SignatureDoesNotMatch, NoSuchBucket
	msg     string
	status  int
	err     error
}

func (e *s3Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "s3 %s %q: ", e.op, e.key)
	if e.code != "" {
		b.WriteString(e.code)
		if e.msg != "" {
			b.WriteString(": " + e.msg)
		}
		if e.status != 0 {
			fmt.Fprintf(&b, " (HTTP %d)", e.status)
		}
		return b.String()
	}
	b.WriteString(e.msg)
	return b.String()
}

func (e *s3Error) Unwrap() error { return e.err }

// wrap translates an SDK error: NoSuchKey/NotFound become ErrNotFound; the
// others keep the service's code and message. nil stays nil.
func (s *S3) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	e := &s3Error{op: op, key: key, err: err, msg: err.Error()}
	var ae smithy.APIError
	var be *netguard.BlockedError
	if errors.As(err, &be) {
		e.msg = be.Error() // not the SDK's retry story around it
	} else if errors.As(err, &ae) {
		e.code, e.msg = ae.ErrorCode(), ae.ErrorMessage()
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			e.status = re.HTTPStatusCode()
		}
		switch e.code {
		case "NoSuchKey", "NotFound":
			e.err = ErrNotFound
		}
	}
	e.msg = scrubSecret(e.msg, s.secret)
	return e
}

// scrubSecret replaces secret in msg: anywhere when it is 8 bytes or more
// (real secret keys are 40), else only where it stands as a word of its own,
// so a short test secret does not cut letters out of words.
func scrubSecret(msg, secret string) string {
	if secret == "" {
		return msg
	}
	if len(secret) >= 8 {
		return strings.ReplaceAll(msg, secret, "<redacted>")
	}
	return word.Replace(msg, secret, "<redacted>", word.Alnum)
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

func hasCode(err error, code string) bool {
	var e *s3Error
	return errors.As(err, &e) && e.code == code
}
