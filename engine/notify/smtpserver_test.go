package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// testCert returns a self-signed certificate for 127.0.0.1/localhost and a
// pool that trusts it.
func testCert(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "jagad test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// smtpMail is one message the test server accepted.
type smtpMail struct {
	from   string // envelope sender address
	to     []string
	data   string // raw, CRLF line endings, dot-stuffing undone
	tls    bool   // the session was encrypted when DATA arrived
	authed bool
}

// smtpOpts configures the test SMTP server.
type smtpOpts struct {
	cert     tls.Certificate
	implicit bool // TLS from the first byte
	startTLS bool // offer STARTTLS
	user     string
	pass     string
	echoAuth bool // a failed AUTH echoes the decoded credentials (redaction test)
}

// smtpServer is github.com/emersion/go-smtp with a backend that records the
// mails it accepts, the client's command lines and the connections.
type smtpServer struct {
	smtpOpts
	srv    *gosmtp.Server
	ln     net.Listener
	served chan error
	tap    commandTap

	mu    sync.Mutex
	mails []smtpMail
	conns int
}

func startSMTP(tb testing.TB, opts smtpOpts) *smtpServer {
	tb.Helper()
	s := &smtpServer{smtpOpts: opts, served: make(chan error, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.ln = ln
	srv := gosmtp.NewServer(gosmtp.BackendFunc(s.newSession))
	srv.Domain = "test.local"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = true // AUTH over plain text to a local relay
	srv.Debug = &s.tap           // both directions of every conversation, after TLS
	srv.ErrorLog = log.New(io.Discard, "", 0)
	var l net.Listener = countingListener{ln, s}
	if opts.implicit || opts.startTLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{opts.cert}, MinVersion: tls.VersionTLS12}
	}
	if opts.implicit {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	s.srv = srv
	go func() { s.served <- srv.Serve(l) }()
	tb.Cleanup(func() {
		// Clients have hung up by now: wait for every connection to end.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("smtp server shutdown: %v", err)
		}
		if err := <-s.served; err != nil {
			tb.Errorf("smtp server: %v", err)
		}
	})
	return s
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) snapshot() ([]smtpMail, []string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMail(nil), s.mails...), s.tap.commands(), s.conns
}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	s *smtpServer
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
	}
	return c, err
}

// commandTap collects the client's command lines from the server's debug
// stream (both directions, in the clear). Replies ("250 …", "250-…") are
// skipped, and so is a message's content after DATA up to the lone ".".
// Conversations must not overlap: the tests talk to a server one at a time.
type commandTap struct {
	mu     sync.Mutex
	buf    []byte
	inData bool
	cmds   []string
}

func (t *commandTap) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	for {
		i := bytes.Index(t.buf, []byte("\r\n"))
		if i < 0 {
			return len(p), nil
		}
		line := string(t.buf[:i])
		t.buf = t.buf[i+2:]
		switch {
		case t.inData:
			t.inData = line != "."
		case isReply(line):
		default:
			t.cmds = append(t.cmds, line)
			t.inData = strings.EqualFold(line, "DATA")
		}
	}
}

func (t *commandTap) commands() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.cmds...)
}

// isReply reports whether line is a server reply: three digits, then a space,
// a dash or nothing. A client line never looks like that (base64 AUTH
// responses have no space or dash).
func isReply(line string) bool {
	if len(line) < 3 || (len(line) > 3 && line[3] != ' ' && line[3] != '-') {
		return false
	}
	for _, c := range line[:3] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (s *smtpServer) newSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &smtpSession{s: s, c: c}, nil
}

// smtpSession is one SMTP session (a new one after STARTTLS).
type smtpSession struct {
	s      *smtpServer
	c      *gosmtp.Conn
	authed bool
	mail   smtpMail
}

var _ gosmtp.AuthSession = (*smtpSession)(nil)

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, gosmtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user == ss.s.user && pass == ss.s.pass {
			ss.authed = true
			return nil
		}
		if ss.s.echoAuth {
			return &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8},
				Message: fmt.Sprintf("bad credentials for %s/%s", user, pass)}
		}
		return gosmtp.ErrAuthFailed
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *gosmtp.MailOptions) error {
	if ss.s.user != "" && !ss.authed {
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	ss.mail = smtpMail{from: from}
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	ss.mail.to = append(ss.mail.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, encrypted := ss.c.TLSConnectionState()
	ss.mail.data, ss.mail.tls, ss.mail.authed = string(data), encrypted, ss.authed
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, ss.mail)
	ss.s.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset() { ss.mail = smtpMail{} }

func (ss *smtpSession) Logout() error { return nil }
