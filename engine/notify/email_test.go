package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// splitMail returns the header lines and the decoded body of a raw message.
func splitMail(t *testing.T, raw string) ([]string, string) {
	t.Helper()
	head, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok {
		t.Fatalf("no header/body separator in %q", raw)
	}
	if strings.Contains(strings.ReplaceAll(raw, "\r\n", ""), "\n") {
		t.Errorf("message has bare LF line endings")
	}
	dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if err != nil {
		t.Fatalf("body is not quoted-printable: %v", err)
	}
	return strings.Split(head, "\r\n"), string(dec)
}

var messageIDRe = regexp.MustCompile(`^Message-ID: <[0-9a-f]{24}@example\.com>$`)

func emailTarget(port int, extra map[string]any) Target {
	cfg := map[string]any{
		"smtp_host":     "127.0.0.1",
		"smtp_port":     port,
		"smtp_username": "backup-bot",
		"smtp_password": "p@ss word",
		"from":          "Jagad Backups <jagad@example.com>",
		"to":            []any{"ops@example.com", "DBA Team <dba@example.com>"},
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return Target{Name: "mail", Type: "email", Config: cfg}
}

func TestEmailDelivery(t *testing.T) {
	cert, pool := testCert(t)
	tests := []struct {
		name        string
		server      smtpOpts
		extra       map[string]any
		ev          Event
		wantSubject string // the Subject header line as sent
		wantDecoded string // the subject after RFC 2047 decoding
	}{
		{
			name:   "starttls with auth and a subject template",
			server: smtpOpts{startTLS: true},
			extra: map[string]any{"tls": "starttls",
				"subject_template": "{{.Event}} {{.Status}} {{.Database}}/{{.DBType}} {{.Schedule}} {{.BackupID}} {{.Size}} {{.Duration}}"},
			ev:          successEvent(),
			wantSubject: "Subject: backup.succeeded success myapp_production/postgresql nightly bck_abc123 523.38 KB 3.2 sec",
			wantDecoded: "backup.succeeded success myapp_production/postgresql nightly bck_abc123 523.38 KB 3.2 sec",
		},
		{
			name:        "implicit tls with the default subject, non-ASCII name encoded",
			server:      smtpOpts{implicit: true},
			extra:       map[string]any{"tls": "tls", "to": "ops@example.com, DBA Team <dba@example.com>"},
			ev:          func() Event { e := failureEvent(); e.Database = "données"; return e }(),
			wantSubject: "Subject: =?utf-8?q?[Jagad]_failed_-_donn=C3=A9es_(postgresql)?=",
			wantDecoded: "[Jagad] failed - données (postgresql)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.server
			srv.cert, srv.user, srv.pass = cert, "backup-bot", "p@ss word"
			s := startSMTP(t, srv)
			n, _, _ := testNotifier(t, Options{TLSConfig: &tls.Config{RootCAs: pool}})
			if err := n.Send(context.Background(), emailTarget(s.port(), tt.extra), tt.ev); err != nil {
				t.Fatalf("Send: %v", err)
			}
			mails, cmds, _ := s.snapshot()
			if len(mails) != 1 {
				t.Fatalf("server got %d mails; commands %q", len(mails), cmds)
			}
			m := mails[0]
			if !m.tls || !m.authed {
				t.Errorf("mail sent with tls=%v authed=%v", m.tls, m.authed)
			}
			if m.from != "jagad@example.com" || !slices.Equal(m.to, []string{"ops@example.com", "dba@example.com"}) {
				t.Errorf("envelope from %q to %q", m.from, m.to)
			}
			if srv.startTLS && !slices.Contains(cmds, "STARTTLS") {
				t.Errorf("STARTTLS not used: %q", cmds)
			}
			headers, body := splitMail(t, m.data)
			want := []string{
				`From: "Jagad Backups" <jagad@example.com>`,
				`To: <ops@example.com>, "DBA Team" <dba@example.com>`,
				tt.wantSubject,
				"Date: Thu, 01 Jan 2026 02:00:05 +0000",
				"", // Message-ID, random: checked by pattern
				"MIME-Version: 1.0",
				"Content-Type: text/plain; charset=utf-8",
				"Content-Transfer-Encoding: quoted-printable",
			}
			if len(headers) != len(want) {
				t.Fatalf("headers = %q", headers)
			}
			for i, w := range want {
				if w == "" {
					if !messageIDRe.MatchString(headers[i]) {
						t.Errorf("header %d = %q, want a Message-ID", i, headers[i])
					}
					continue
				}
				if headers[i] != w {
					t.Errorf("header %d = %q, want %q", i, headers[i], w)
				}
			}
			subj, err := new(mime.WordDecoder).DecodeHeader(strings.TrimPrefix(headers[2], "Subject: "))
			if err != nil || subj != tt.wantDecoded {
				t.Errorf("decoded subject = %q (%v), want %q", subj, err, tt.wantDecoded)
			}
			wantBody := strings.ReplaceAll(Message(tt.ev), "\n", "\r\n") + "\r\n"
			if body != wantBody {
				t.Errorf("body =\n%q\nwant\n%q", body, wantBody)
			}
		})
	}
}

func TestEmailSubjectInjectionFlattened(t *testing.T) {
	cert, pool := testCert(t)
	s := startSMTP(t, smtpOpts{cert: cert, implicit: true})
	n, _, _ := testNotifier(t, Options{TLSConfig: &tls.Config{RootCAs: pool}})
	ev := successEvent()
	ev.Database = "evil\r\nBcc: victim@example.com"
	target := emailTarget(s.port(), map[string]any{"tls": "tls", "smtp_username": ""})
	if err := n.Send(context.Background(), target, ev); err != nil {
		t.Fatalf("Send: %v", err)
	}
	mails, _, _ := s.snapshot()
	headers, _ := splitMail(t, mails[0].data)
	for _, h := range headers {
		if strings.HasPrefix(h, "Bcc:") {
			t.Fatalf("header injected: %q", headers)
		}
	}
	if headers[2] != "Subject: [Jagad] success - evil Bcc: victim@example.com (postgresql)" {
		t.Errorf("subject = %q", headers[2])
	}
}

func TestEmailPlainLocalRelay(t *testing.T) {
	s := startSMTP(t, smtpOpts{user: "backup-bot", pass: "p@ss word"})
	n, _, _ := testNotifier(t, Options{})
	if err := n.Send(context.Background(), emailTarget(s.port(), map[string]any{"tls": "none"}), successEvent()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	mails, _, _ := s.snapshot()
	if len(mails) != 1 || mails[0].tls || !mails[0].authed {
		t.Fatalf("mails = %+v", mails)
	}
}

func TestEmailFailures(t *testing.T) {
	cert, pool := testCert(t)
	tests := []struct {
		name      string
		server    smtpOpts
		extra     map[string]any
		tlsConfig *tls.Config
		wantErr   string
		wantConns int
		wantNoCmd string // a command that must never be sent
	}{
		{"starttls required but not offered", smtpOpts{}, map[string]any{"tls": "starttls"},
			&tls.Config{RootCAs: pool}, "does not offer STARTTLS", 1, "AUTH"},
		{"wrong password is permanent", smtpOpts{startTLS: true, pass: "other"}, nil,
			&tls.Config{RootCAs: pool}, "smtp AUTH: 535", 1, "MAIL"},
		{"untrusted certificate is permanent", smtpOpts{implicit: true}, map[string]any{"tls": "tls"},
			nil, "certificate", 1, "AUTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.server
			srv.cert, srv.user = cert, "backup-bot"
			if srv.pass == "" {
				srv.pass = "p@ss word"
			}
			s := startSMTP(t, srv)
			n, rec, _ := testNotifier(t, Options{TLSConfig: tt.tlsConfig})
			err := n.Send(context.Background(), emailTarget(s.port(), tt.extra), successEvent())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			mails, cmds, conns := s.snapshot()
			if len(mails) != 0 || conns != tt.wantConns || len(rec.got()) != 0 {
				t.Errorf("mails %d, connections %d, sleeps %v", len(mails), conns, rec.got())
			}
			for _, c := range cmds {
				if strings.HasPrefix(c, tt.wantNoCmd) {
					t.Errorf("sent %q: %q", tt.wantNoCmd, cmds)
				}
			}
		})
	}
}

func TestEmailAuthRefusedWithoutTLSToRemoteHost(t *testing.T) {
	n, _, _ := testNotifier(t, Options{})
	target := emailTarget(25, map[string]any{"tls": "none", "smtp_host": "smtp.example.invalid"})
	err := n.Send(context.Background(), target, successEvent())
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "without TLS") {
		t.Fatalf("error = %v", err)
	}
}

func TestEmailTLSModeDefaults(t *testing.T) {
	tests := []struct {
		port     int
		mode     string
		wantMode string
		wantPort int
	}{
		{465, "", tlsImplicit, 465},
		{587, "", tlsStartTLS, 587},
		{25, "", tlsStartTLS, 25},
		{0, "", tlsStartTLS, 587},
		{0, "tls", tlsImplicit, 465},
		{2525, "NONE", tlsNone, 2525},
	}
	for _, tt := range tests {
		cfg := map[string]any{"smtp_host": "h", "from": "a@example.com", "to": "b@example.com", "tls": tt.mode}
		if tt.port != 0 {
			cfg["smtp_port"] = tt.port
		}
		c, err := parseEmail(cfg)
		if err != nil {
			t.Fatalf("parseEmail(port %d, %q): %v", tt.port, tt.mode, err)
		}
		if c.tlsMode != tt.wantMode || c.port != tt.wantPort {
			t.Errorf("port %d mode %q: got %s:%d, want %s:%d", tt.port, tt.mode, c.tlsMode, c.port, tt.wantMode, tt.wantPort)
		}
	}
}

// TestEmailContextEndsHungConversation: a server that accepts and never
// greets must not hold Send past the caller's deadline.
func TestEmailContextEndsHungConversation(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c) // hold the connection until the client closes it
		_ = c.Close()
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	n, _, _ := testNotifier(t, Options{MaxAttempts: 5})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	target := emailTarget(ln.Addr().(*net.TCPAddr).Port, map[string]any{"tls": "none", "smtp_username": ""})
	err = n.Send(ctx, target, successEvent())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Send took %v", d)
	}
}
