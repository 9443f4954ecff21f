package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/jagad/jagad/engine/netguard"
)

// email renders the message once and returns an attempt that runs one SMTP
// conversation.
func (n *Notifier) email(cfg map[string]any, ev Event) (attemptFunc, error) {
	c, err := parseEmail(cfg)
	if err != nil {
		return nil, err
	}
	subject, err := renderSubject(c.subject, ev)
	if err != nil {
		return nil, err
	}
	msg, err := buildMail(c, subject, Message(ev), n.now())
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return n.smtpSend(ctx, c, msg) }, nil
}

// buildMail returns the RFC 5322 message with CRLF line endings and a
// quoted-printable UTF-8 body.
func buildMail(c emailConfig, subject, body string, now time.Time) ([]byte, error) {
	id, err := messageID(c.from.Address)
	if err != nil {
		return nil, err
	}
	to := make([]string, len(c.to))
	for i, a := range c.to {
		to[i] = a.String()
	}
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", c.from.String())
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", id)
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

func messageID(from string) (string, error) {
	var r [12]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	domain := "jagad.local"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">", nil
}

func (n *Notifier) tlsFor(host string) *tls.Config {
	var cfg *tls.Config
	if n.tlsConfig != nil {
		cfg = n.tlsConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = strings.Trim(host, "[]")
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// smtpSend runs one SMTP conversation bounded by ctx and SMTPTimeout.
func (n *Notifier) smtpSend(ctx context.Context, c emailConfig, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, n.smtpTimeout)
	defer cancel()
	addr := net.JoinHostPort(strings.Trim(c.host, "[]"), strconv.Itoa(c.port))
	conn, err := n.guard.DialContext(ctx, "tcp", addr)
	if errors.Is(err, netguard.ErrBlocked) {
		return permanent("smtp connect: %s", err)
	}
	if err != nil {
		return transient("smtp connect: %s", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Cancellation unblocks any read or write in progress.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if c.tlsMode == tlsImplicit {
		tc := tls.Client(conn, n.tlsFor(c.host))
		if err := tc.HandshakeContext(ctx); err != nil {
			return smtpError("smtp tls handshake", err)
		}
		conn = tc
	}
	cl, err := smtp.NewClient(conn, strings.Trim(c.host, "[]"))
	if err != nil {
		return smtpError("smtp greeting", err)
	}
	defer cl.Close()
	if err := n.smtpSession(cl, c, msg); err != nil {
		return err
	}
	// The message was accepted at the end of DATA; a failed QUIT is not a
	// reason to send it twice.
	_ = cl.Quit()
	return nil
}

func (n *Notifier) smtpSession(cl *smtp.Client, c emailConfig, msg []byte) error {
	if err := cl.Hello("localhost"); err != nil {
		return smtpError("smtp EHLO", err)
	}
	if c.tlsMode == tlsStartTLS {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return permanent("smtp: server does not offer STARTTLS (set tls: tls or none explicitly)")
		}
		if err := cl.StartTLS(n.tlsFor(c.host)); err != nil {
			return smtpError("smtp STARTTLS", err)
		}
	}
	if c.username != "" {
		if ok, _ := cl.Extension("AUTH"); !ok {
			return permanent("smtp: server does not offer AUTH")
		}
		auth := smtp.PlainAuth("", c.username, c.password, strings.Trim(c.host, "[]"))
		if err := cl.Auth(auth); err != nil {
			return smtpError("smtp AUTH", err)
		}
	}
	if err := cl.Mail(c.from.Address); err != nil {
		return smtpError("smtp MAIL FROM", err)
	}
	for _, a := range c.to {
		if err := cl.Rcpt(a.Address); err != nil {
			return smtpError("smtp RCPT TO", err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return smtpError("smtp DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		_ = w.Close()
		return smtpError("smtp DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("smtp end of DATA", err)
	}
	return nil
}

// smtpError classifies an SMTP failure: 4xx replies and network errors are
// transient; 5xx replies, certificate problems and local refusals (such as
// net/smtp declining to send credentials unencrypted) are permanent.
func smtpError(step string, err error) error {
	var tpErr *textproto.Error
	if errors.As(err, &tpErr) {
		if tpErr.Code >= 500 {
			return permanent("%s: %d %s", step, tpErr.Code, tpErr.Msg)
		}
		return transient("%s: %d %s", step, tpErr.Code, tpErr.Msg)
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return permanent("%s: %s", step, err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return transient("%s: %s", step, err)
	}
	return permanent("%s: %s", step, err)
}
