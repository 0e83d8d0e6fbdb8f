package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
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
