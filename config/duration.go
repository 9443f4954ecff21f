package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as a Go duration ("90m", "6h") that
// also accepts a day unit: "30d", "7d12h", "1.5d". A day is 24 hours.
type Duration time.Duration

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats the duration, using days for whole multiples of 24h
// ("30d", "7d12h0m0s" is printed as "7d12h").
func (d Duration) String() string {
	v := time.Duration(d)
	if v == 0 {
		return "0s"
	}
	sign := ""
	if v < 0 {
		sign = "-"
		v = -v
	}
	days := v / (24 * time.Hour)
	rest := v % (24 * time.Hour)
	if days == 0 {
		return sign + rest.String()
	}
	s := sign + strconv.FormatInt(int64(days), 10) + "d"
	if rest != 0 {
		r := rest.String()
		if strings.HasSuffix(r, "m0s") {
			r = r[:len(r)-2]
		}
		if strings.HasSuffix(r, "h0m") {
			r = r[:len(r)-2]
		}
		s += r
	}
	return s
}

// ParseDuration parses a Go duration with an optional day unit "d".
func ParseDuration(s string) (Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("empty duration")
	}
	body := in
	neg := false
	switch body[0] {
	case '-':
		neg = true
		body = body[1:]
	case '+':
		body = body[1:]
	}
	days, rest, err := splitDays(body)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", in)
	}
	var total float64
	if rest != "" {
		v, err := time.ParseDuration(rest)
		if err != nil || v < 0 || rest[0] == '-' || rest[0] == '+' {
			return 0, fmt.Errorf("invalid duration %q", in)
		}
		total = float64(v)
	}
	total += days * float64(24*time.Hour)
	if total > math.MaxInt64 {
		return 0, fmt.Errorf("duration %q out of range", in)
	}
	if neg {
		total = -total
	}
	return Duration(int64(total)), nil
}

// splitDays takes a leading "<number>d" off s. Day values must come first
// ("7d12h"); a "d" anywhere else is invalid.
func splitDays(s string) (days float64, rest string, err error) {
	i := strings.IndexByte(s, 'd')
	if i < 0 {
		return 0, s, nil
	}
	num := s[:i]
	if num == "" || strings.ContainsAny(num, "nsuµmh+-") || strings.ContainsAny(s[i+1:], "d") {
		return 0, "", errors.New("bad day value")
	}
	days, err = strconv.ParseFloat(num, 64)
	if err != nil || days < 0 || math.IsInf(days, 0) || math.IsNaN(days) {
		return 0, "", errors.New("bad day value")
	}
	return days, s[i+1:], nil
}

// UnmarshalYAML decodes a duration scalar.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("duration must be a scalar")
	}
	return d.UnmarshalText([]byte(n.Value))
}

// MarshalYAML encodes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalText decodes a duration from text (JSON strings, flags).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText encodes the duration as text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
