package notify

import (
	"fmt"
	"net/mail"
	"strings"
	"text/template"
)

// TLS modes for email targets.
const (
	tlsStartTLS = "starttls" // plain connect, then STARTTLS (required); default except port 465
	tlsImplicit = "tls"      // TLS from the first byte; default for port 465
	tlsNone     = "none"     // no TLS at all
)

const defaultSubject = "[Jagad] {{.Status}} - {{.Database}} ({{.DBType}})"

type emailConfig struct {
	host     string
	port     int
	username string
	password string
	tlsMode  string
	from     *mail.Address
	to       []*mail.Address
	subject  *template.Template
}

// parseEmail validates an email target. AUTH is only ever sent over TLS,
// except with tls "none" to a loopback host (a local relay): credentials
// never cross a network in clear text. STARTTLS is mandatory in its mode: a
// server that does not offer it is an error, not a silent downgrade.
func parseEmail(cfg map[string]any) (emailConfig, error) {
	var c emailConfig
	var err error
	if c.host, err = requiredString(cfg, "smtp_host"); err != nil {
		return c, err
	}
	if c.port, err = cfgInt(cfg, "smtp_port"); err != nil {
		return c, err
	}
	if c.tlsMode, err = emailTLSMode(cfg, c.port); err != nil {
		return c, err
	}
	if c.port == 0 {
		c.port = 587
		if c.tlsMode == tlsImplicit {
			c.port = 465
		}
	}
	if c.port < 1 || c.port > 65535 {
		return c, invalid("smtp_port", "must be between 1 and 65535")
	}
	if c.username, err = cfgString(cfg, "smtp_username"); err != nil {
		return c, err
	}
	if v, ok := cfg["smtp_password"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return c, invalid("smtp_password", "must be a string")
		}
		c.password = s
	}
	if c.username != "" && c.tlsMode == tlsNone && !isLoopbackName(c.host) {
		return c, invalid("tls", "is none: refusing to send SMTP credentials without TLS to a non-local host")
	}
	if c.from, c.to, err = emailAddresses(cfg); err != nil {
		return c, err
	}
	c.subject, err = subjectTemplate(cfg)
	return c, err
}

func emailTLSMode(cfg map[string]any, port int) (string, error) {
	mode, err := cfgString(cfg, "tls")
	if err != nil {
		return "", err
	}
	switch strings.ToLower(mode) {
	case "":
		if port == 465 {
			return tlsImplicit, nil
		}
		return tlsStartTLS, nil
	case tlsStartTLS:
		return tlsStartTLS, nil
	case tlsImplicit:
		return tlsImplicit, nil
	case tlsNone:
		return tlsNone, nil
	default:
		return "", invalid("tls", "must be starttls, tls or none")
	}
}

func emailAddresses(cfg map[string]any) (*mail.Address, []*mail.Address, error) {
	fromRaw, err := requiredString(cfg, "from")
	if err != nil {
		return nil, nil, err
	}
	from, err := mail.ParseAddress(fromRaw)
	if err != nil {
		return nil, nil, invalid("from", "is not an email address")
	}
	list, err := cfgList(cfg, "to")
	if err != nil {
		return nil, nil, err
	}
	if len(list) == 0 {
		return nil, nil, invalid("to", "is required")
	}
	to := make([]*mail.Address, 0, len(list))
	for i, s := range list {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, nil, invalid(fmt.Sprintf("to[%d]", i), "is not an email address")
		}
		to = append(to, a)
	}
	return from, to, nil
}

func subjectTemplate(cfg map[string]any) (*template.Template, error) {
	text, err := cfgString(cfg, "subject_template")
	if err != nil {
		return nil, err
	}
	if text == "" {
		text = defaultSubject
	}
	t, err := template.New("subject").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, invalid("subject_template", "does not parse: "+err.Error())
	}
	return t, nil
}

func isLoopbackName(host string) bool {
	switch strings.ToLower(strings.Trim(host, "[]")) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// subjectData is what subject_template sees.
type subjectData struct {
	Status, Database, DBType, Schedule, BackupID, Size, Duration, Event string
}

func renderSubject(t *template.Template, ev Event) (string, error) {
	var b strings.Builder
	err := t.Execute(&b, subjectData{
		Status:   ev.Status,
		Database: ev.Database,
		DBType:   ev.DBType,
		Schedule: ev.Schedule,
		BackupID: ev.BackupID,
		Size:     FormatSize(ev.SizeBytes),
		Duration: FormatDuration(ev.DurationMs),
		Event:    ev.Kind,
	})
	if err != nil {
		return "", invalid("subject_template", "failed: "+err.Error())
	}
	// One header line: no CR/LF from names can inject headers.
	return strings.Join(strings.Fields(b.String()), " "), nil
}
