package web

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test, so its clients
// can verify the server's certificate instead of skipping verification.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Vigil test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a server certificate for 127.0.0.1 and localhost with the
// given serial number, and its key, to dir as name.crt and name.key.
func (ca *testCA) issue(t *testing.T, dir, name string, serial int64) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "vigil.test"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// replaceFile puts src's content at dst, dated later than before, as a
// renewal tool would.
func replaceFile(t *testing.T, src, dst string, when time.Time) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(dst, when, when); err != nil {
		t.Fatal(err)
	}
}

// serveTLS runs h the way `vigil serve` does with certificate files: a
// server from NewServer on a 127.0.0.1 listener with TLSConfig.
func serveTLS(t *testing.T, h http.Handler, certs *CertificateFiles) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(h, Limits{}, nil)
	srv.TLSConfig = TLSConfig(certs.GetCertificate)
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String()
}

// servedSerial connects to addr, verifying against the test CA, and
// returns the serial number of the certificate the server presented.
func servedSerial(t *testing.T, addr string, ca *testCA) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestCertificateReload replaces the certificate files under a running
// server and checks the next connection sees the new certificate, and
// that a pair which does not match keeps the old one in service.
func TestCertificateReload(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	certFile, keyFile := ca.issue(t, dir, "live", 100)
	var logs bytes.Buffer
	certs, err := LoadCertificateFiles(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// Look at the files on every handshake, so the test needs no clock.
	certs.CheckEvery = 0
	u, _ := url.Parse(serveTLS(t, http.NotFoundHandler(), certs))
	if got := servedSerial(t, u.Host, ca); got != 100 {
		t.Fatalf("first certificate: serial %d, want 100", got)
	}

	t.Run("renewed pair is served", func(t *testing.T) {
		newCert, newKey := ca.issue(t, dir, "renewed", 200)
		later := time.Now().Add(time.Minute)
		replaceFile(t, newCert, certFile, later)
		replaceFile(t, newKey, keyFile, later)
		if got := servedSerial(t, u.Host, ca); got != 200 {
			t.Fatalf("after renewal: serial %d, want 200", got)
		}
		if !strings.Contains(logs.String(), "tls certificate reloaded") {
			t.Errorf("reload not logged: %s", logs.String())
		}
	})
	t.Run("mismatched pair keeps the old certificate", func(t *testing.T) {
		otherCert, _ := ca.issue(t, dir, "other", 300)
		replaceFile(t, otherCert, certFile, time.Now().Add(2*time.Minute))
		if got := servedSerial(t, u.Host, ca); got != 200 {
			t.Fatalf("after a bad pair: serial %d, want the old 200", got)
		}
		if !strings.Contains(logs.String(), "new tls certificate refused") {
			t.Errorf("refusal not logged: %s", logs.String())
		}
	})
	t.Run("missing files keep the old certificate", func(t *testing.T) {
		if err := os.Remove(keyFile); err != nil {
			t.Fatal(err)
		}
		if got := servedSerial(t, u.Host, ca); got != 200 {
			t.Fatalf("without the key file: serial %d, want the old 200", got)
		}
	})
	t.Run("loading a bad pair at start fails", func(t *testing.T) {
		_, otherKey := ca.issue(t, dir, "third", 400)
		if _, err := LoadCertificateFiles(filepath.Join(dir, "other.crt"), otherKey, nil); err == nil {
			t.Fatal("mismatched certificate and key loaded")
		}
	})
}

// login fetches the login form from base with client, posts alice's
// credentials with its form token, and returns the response to the post.
func login(t *testing.T, client *http.Client, base string, header ...string) (formRes, postRes *http.Response) {
	t.Helper()
	formRes, body := get(t, client, base+"/login", header...)
	parts := strings.SplitN(body, `name="csrf" value="`, 2)
	if len(parts) != 2 {
		t.Fatalf("no form token on the login page: %s", body)
	}
	token := strings.SplitN(parts[1], `"`, 2)[0]
	form := url.Values{"name": {"alice"}, "password": {"alice's long passphrase"}, "csrf": {token}}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	for _, c := range formRes.Cookies() {
		req.AddCookie(c)
	}
	postRes, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, postRes.Body)
	postRes.Body.Close()
	return formRes, postRes
}

func cookieNamed(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestHTTPSCookiesAndHSTS logs in over a real TLS connection to the
// server `vigil serve` builds, and through a proxy in front of a plain
// listener, trusted or not.
func TestHTTPSCookiesAndHSTS(t *testing.T) {
	st := openStore(t)
	addUser(t, st, "alice", "analyst", "alice's long passphrase")
	noRedirect := func(c *http.Client) *http.Client {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return c
	}
	secureSession := func(t *testing.T, res *http.Response) {
		t.Helper()
		s := cookieNamed(res, "__Host-vigil-session")
		if res.StatusCode != http.StatusSeeOther || s == nil {
			t.Fatalf("login: status %d, cookies %v", res.StatusCode, res.Cookies())
		}
		if !s.Secure || !s.HttpOnly || s.Path != "/" || s.Domain != "" || s.SameSite != http.SameSiteLaxMode {
			t.Errorf("session cookie %+v: want Secure, HttpOnly, Path=/, no Domain, SameSite=Lax", s)
		}
		if cookieNamed(res, "vigil-session") != nil {
			t.Errorf("an unprefixed session cookie was set too")
		}
	}

	t.Run("direct TLS", func(t *testing.T) {
		ca := newTestCA(t)
		certFile, keyFile := ca.issue(t, t.TempDir(), "server", 7)
		certs, err := LoadCertificateFiles(certFile, keyFile, nil)
		if err != nil {
			t.Fatal(err)
		}
		h, err := New(Deps{Console: consoleConfig(t, st, "")})
		if err != nil {
			t.Fatal(err)
		}
		base := serveTLS(t, h, certs)
		client := noRedirect(&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}, ForceAttemptHTTP2: true}})
		formRes, postRes := login(t, client, base)
		if postRes.TLS == nil || postRes.TLS.Version < tls.VersionTLS12 {
			t.Fatalf("connection state %+v", postRes.TLS)
		}
		if got := formRes.Header.Get("Strict-Transport-Security"); got != DefaultHSTS {
			t.Errorf("HSTS %q, want %q", got, DefaultHSTS)
		}
		if f := cookieNamed(formRes, "__Host-vigil-form"); f == nil || !f.Secure {
			t.Errorf("form cookie: %v", formRes.Cookies())
		}
		secureSession(t, postRes)
		t.Run("TLS 1.1 refused", func(t *testing.T) {
			u, _ := url.Parse(base)
			conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
			if err == nil {
				conn.Close()
				t.Fatal("TLS 1.1 handshake succeeded")
			}
		})
	})

	proxied := func(t *testing.T, trusted TrustedProxies, hsts string) string {
		h, err := New(Deps{Console: consoleConfig(t, st, ""), TrustedProxies: trusted, HSTS: hsts})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := NewServer(h, Limits{}, nil)
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return "http://" + ln.Addr().String()
	}
	fromProxy := []string{"X-Forwarded-Proto", "https", "X-Forwarded-For", "192.0.2.1"}

	t.Run("behind a trusted proxy", func(t *testing.T) {
		base := proxied(t, TrustedProxies{netip.MustParsePrefix("127.0.0.1/32")}, "max-age=600")
		formRes, postRes := login(t, noRedirect(&http.Client{}), base, fromProxy...)
		if got := formRes.Header.Get("Strict-Transport-Security"); got != "max-age=600" {
			t.Errorf("HSTS %q, want the configured max-age=600", got)
		}
		secureSession(t, postRes)
	})
	t.Run("behind a trusted proxy, HSTS off", func(t *testing.T) {
		base := proxied(t, TrustedProxies{netip.MustParsePrefix("127.0.0.1/32")}, "off")
		formRes, _ := get(t, noRedirect(&http.Client{}), base+"/login", fromProxy...)
		if got := formRes.Header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("HSTS %q with hsts off", got)
		}
	})
	t.Run("forwarding headers from an untrusted source", func(t *testing.T) {
		base := proxied(t, TrustedProxies{netip.MustParsePrefix("10.0.0.0/8")}, "")
		formRes, postRes := login(t, noRedirect(&http.Client{}), base, fromProxy...)
		if got := formRes.Header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("HSTS %q over plain HTTP", got)
		}
		s := cookieNamed(postRes, "vigil-session")
		if s == nil || s.Secure || cookieNamed(postRes, "__Host-vigil-session") != nil {
			t.Errorf("plain HTTP session cookies %v", postRes.Cookies())
		}
	})
}

// TestRedirectToHTTPS checks the plain-HTTP listener's answers.
func TestRedirectToHTTPS(t *testing.T) {
	for _, tc := range []struct {
		name, port, method, host, target, want string
		status                                 int
	}{
		{"default port", "443", http.MethodGet, "vigil.example.org", "/events?ip=192.0.2.1", "https://vigil.example.org/events?ip=192.0.2.1", http.StatusMovedPermanently},
		{"other port", "8443", http.MethodGet, "vigil.example.org:8080", "/", "https://vigil.example.org:8443/", http.StatusMovedPermanently},
		{"IPv6 host", "443", http.MethodGet, "[2001:db8::1]:80", "/login", "https://[2001:db8::1]/login", http.StatusMovedPermanently},
		{"post kept a post", "443", http.MethodPost, "vigil.example.org", "/login", "https://vigil.example.org/login", http.StatusPermanentRedirect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(tc.method, "http://"+tc.host+tc.target, nil)
			w := httptest.NewRecorder()
			RedirectToHTTPS(tc.port).ServeHTTP(w, r)
			if w.Code != tc.status || w.Header().Get("Location") != tc.want {
				t.Fatalf("%d %q, want %d %q", w.Code, w.Header().Get("Location"), tc.status, tc.want)
			}
		})
	}
}
