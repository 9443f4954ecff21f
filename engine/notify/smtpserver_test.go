package notify

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
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
	from   string
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

// smtpServer is a small SMTP server for tests: EHLO, STARTTLS, AUTH PLAIN,
// MAIL, RCPT, DATA, RSET, NOOP, QUIT.
type smtpServer struct {
	smtpOpts
	ln       net.Listener
	mu       sync.Mutex
	mails    []smtpMail
	commands []string
	conns    int
	wg       sync.WaitGroup
}

func startSMTP(tb testing.TB, opts smtpOpts) *smtpServer {
	tb.Helper()
	s := &smtpServer{smtpOpts: opts}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.acceptLoop()
	tb.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

func (s *smtpServer) snapshot() ([]smtpMail, []string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMail(nil), s.mails...), append([]string(nil), s.commands...), s.conns
}

// session is one connection's state.
type session struct {
	conn   net.Conn
	tp     *textproto.Conn
	tls    bool
	authed bool
	mail   smtpMail
}

func (s *smtpServer) tlsConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12}
}

func (s *smtpServer) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	ss := &session{conn: c}
	if s.implicit {
		tc := tls.Server(c, s.tlsConfig())
		if err := tc.Handshake(); err != nil {
			return
		}
		ss.conn, ss.tls = tc, true
	}
	ss.tp = textproto.NewConn(ss.conn)
	_ = ss.tp.PrintfLine("220 test.local ESMTP")
	for {
		line, err := ss.tp.ReadLine()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.commands = append(s.commands, line)
		s.mu.Unlock()
		verb, arg, _ := strings.Cut(line, " ")
		if !s.command(ss, strings.ToUpper(verb), arg) {
			return
		}
	}
}

// command handles one command; false ends the session.
func (s *smtpServer) command(ss *session, verb, arg string) bool {
	switch verb {
	case "EHLO", "HELO":
		lines := []string{"250-test.local"}
		if s.startTLS && !ss.tls {
			lines = append(lines, "250-STARTTLS")
		}
		lines = append(lines, "250-AUTH PLAIN", "250 SIZE 10240000")
		for _, l := range lines {
			_ = ss.tp.PrintfLine("%s", l)
		}
	case "STARTTLS":
		if !s.startTLS || ss.tls {
			_ = ss.tp.PrintfLine("503 5.5.1 STARTTLS not available")
			return true
		}
		_ = ss.tp.PrintfLine("220 2.0.0 ready")
		tc := tls.Server(ss.conn, s.tlsConfig())
		if err := tc.Handshake(); err != nil {
			return false
		}
		ss.conn, ss.tls, ss.tp = tc, true, textproto.NewConn(tc)
	case "AUTH":
		s.auth(ss, arg)
	case "MAIL":
		if s.user != "" && !ss.authed {
			_ = ss.tp.PrintfLine("530 5.7.0 authentication required")
			return true
		}
		ss.mail = smtpMail{from: arg}
		_ = ss.tp.PrintfLine("250 2.1.0 ok")
	case "RCPT":
		ss.mail.to = append(ss.mail.to, arg)
		_ = ss.tp.PrintfLine("250 2.1.5 ok")
	case "DATA":
		_ = ss.tp.PrintfLine("354 end with .")
		data, err := readDotRaw(ss.tp.R)
		if err != nil {
			return false
		}
		ss.mail.data, ss.mail.tls, ss.mail.authed = data, ss.tls, ss.authed
		s.mu.Lock()
		s.mails = append(s.mails, ss.mail)
		s.mu.Unlock()
		_ = ss.tp.PrintfLine("250 2.0.0 queued")
	case "RSET", "NOOP":
		_ = ss.tp.PrintfLine("250 2.0.0 ok")
	case "QUIT":
		_ = ss.tp.PrintfLine("221 2.0.0 bye")
		return false
	default:
		_ = ss.tp.PrintfLine("502 5.5.2 unknown command")
	}
	return true
}

func (s *smtpServer) auth(ss *session, arg string) {
	mech, resp, _ := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") {
		_ = ss.tp.PrintfLine("504 5.5.4 mechanism not supported")
		return
	}
	if resp == "" {
		_ = ss.tp.PrintfLine("334 ")
		line, err := ss.tp.ReadLine()
		if err != nil {
			return
		}
		resp = line
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	parts := strings.Split(string(raw), "\x00")
	if err == nil && len(parts) == 3 && parts[1] == s.user && parts[2] == s.pass {
		ss.authed = true
		_ = ss.tp.PrintfLine("235 2.7.0 authenticated")
		return
	}
	if s.echoAuth && len(parts) == 3 {
		_ = ss.tp.PrintfLine("535 5.7.8 bad credentials for %s/%s", parts[1], parts[2])
		return
	}
	_ = ss.tp.PrintfLine("535 5.7.8 authentication failed")
}

// readDotRaw reads a DATA body up to the lone "." line, keeping CRLF line
// endings and undoing dot-stuffing.
func readDotRaw(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if line == ".\r\n" {
			return b.String(), nil
		}
		b.WriteString(strings.TrimPrefix(line, "."))
	}
}
