package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/vigil-cert/vigil/internal/config"
)

// freeAddr returns a 127.0.0.1 address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// selfSignedPair writes a certificate for 127.0.0.1 and its key to dir
// and returns a pool that trusts it.
func selfSignedPair(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vigil serve test"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeOverHTTPS runs the real `vigil serve` with certificate files
// and a redirect listener: the console answers over HTTPS (HTTP/2, HSTS)
// and plain HTTP is sent there.
func TestServeOverHTTPS(t *testing.T) {
	bin := buildVigil(t)
	data := t.TempDir()
	certFile, keyFile, pool := selfSignedPair(t, t.TempDir())
	webAddr, redirectAddr := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(data, "vigil.yml")
	yml := "tls:\n  cert_file: " + certFile + "\n  key_file: " + keyFile + "\n  redirect_listen: " + redirectAddr + "\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	startServeWith(t, bin, data, "--config", cfg, "--listen", webAddr)

	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	var res *http.Response
	waitFor(t, 60*time.Second, func() bool {
		r, err := client.Get("https://" + webAddr + "/healthz")
		if err != nil {
			return false
		}
		r.Body.Close()
		res = r
		return true
	})
	if res.StatusCode != http.StatusOK || res.TLS == nil || res.ProtoMajor != 2 {
		log, _ := os.ReadFile(filepath.Join(data, "serve.log"))
		t.Fatalf("healthz over HTTPS: %d %s tls %v\n%s", res.StatusCode, res.Proto, res.TLS != nil, log)
	}
	if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
		t.Errorf("HSTS %q", got)
	}

	res, err := client.Get("http://" + redirectAddr + "/events?ip=192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := "https://" + webAddr + "/events?ip=192.0.2.1"; res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != want {
		t.Fatalf("plain HTTP: %d to %q, want 301 to %q", res.StatusCode, res.Header.Get("Location"), want)
	}
}

// TestServerTLSWithACME checks the ACME wiring without a CA: the
// TLS-ALPN-01 protocol is offered, names outside tls.acme.domains get no
// certificate (and cause no request to the CA), and the plain listener
// answers HTTP-01 challenges instead of redirecting them.
func TestServerTLSWithACME(t *testing.T) {
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.TLS.ACME = config.ACME{Domains: []string{"vigil.cert.example"}, Email: "cert@cert.example",
		DirectoryURL: "https://127.0.0.1:1/directory", CacheDir: "acme"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tlsConfig, plain, err := serverTLS(cfg, "443", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tlsConfig.NextProtos, acme.ALPNProto) || tlsConfig.MinVersion != tls.VersionTLS12 {
		t.Errorf("tls config: protocols %v, min version %x", tlsConfig.NextProtos, tlsConfig.MinVersion)
	}
	if _, err := tlsConfig.GetCertificate(&tls.ClientHelloInfo{ServerName: "elsewhere.example"}); err == nil {
		t.Error("a certificate for a name outside tls.acme.domains")
	}
	for _, tc := range []struct {
		path     string
		redirect bool
	}{{"/events", true}, {"/.well-known/acme-challenge/token", false}} {
		w := httptest.NewRecorder()
		plain.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://vigil.cert.example"+tc.path, nil))
		if got := w.Code == http.StatusMovedPermanently || w.Code == http.StatusFound; got != tc.redirect {
			t.Errorf("%s: status %d, redirect %v, want %v", tc.path, w.Code, got, tc.redirect)
		}
	}
}
