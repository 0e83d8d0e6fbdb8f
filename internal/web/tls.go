package web

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// TLSConfig returns the server TLS settings Vigil uses on every HTTPS
// listener: TLS 1.2 or newer (Go's default cipher suites, all with
// forward secrecy and AEAD), HTTP/2, certificates from getCertificate.
func TLSConfig(getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: getCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}

// CertificateFiles serves a certificate and key read from PEM files and
// reads them again when they change, so a renewed certificate (certbot,
// an internal CA) is used without a restart. A new pair that does not
// load keeps the old one in service and logs why.
type CertificateFiles struct {
	certFile, keyFile string
	logger            *slog.Logger
	// CheckEvery is how often, at most, a handshake looks at the files'
	// modification times.
	CheckEvery time.Duration

	mu        sync.Mutex
	cert      *tls.Certificate
	certStamp fileStamp
	keyStamp  fileStamp
	checked   time.Time
}

// fileStamp tells whether a file changed.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// LoadCertificateFiles reads the pair once; an error here stops Vigil,
// as a server without a certificate cannot serve.
func LoadCertificateFiles(certFile, keyFile string, logger *slog.Logger) (*CertificateFiles, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &CertificateFiles{certFile: certFile, keyFile: keyFile, logger: logger, CheckEvery: 5 * time.Second}
	if err := c.reload(); err != nil {
		return nil, err
	}
	c.checked = time.Now()
	return c, nil
}

// reload reads both files; the caller holds mu or is the constructor.
func (c *CertificateFiles) reload() error {
	certStamp, err := stampOf(c.certFile)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	keyStamp, err := stampOf(c.keyFile)
	if err != nil {
		return fmt.Errorf("tls key: %w", err)
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.certStamp, c.keyStamp = &pair, certStamp, keyStamp
	return nil
}

// GetCertificate is the tls.Config hook: the current certificate, after
// reading the files again if they changed since the last look.
func (c *CertificateFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= c.CheckEvery {
		c.checked = now
		certStamp, err1 := stampOf(c.certFile)
		keyStamp, err2 := stampOf(c.keyFile)
		switch {
		case err1 != nil || err2 != nil:
			c.logger.Warn("tls certificate files unreadable; keeping the loaded certificate",
				"cert_file", c.certFile, "key_file", c.keyFile, "err", firstError(err1, err2))
		case certStamp != c.certStamp || keyStamp != c.keyStamp:
			if err := c.reload(); err != nil {
				// A renewal tool may write the certificate before the key:
				// the half-written pair is refused now and read again at
				// the next look, since the stamps were not recorded.
				c.logger.Warn("new tls certificate refused; keeping the loaded one", "err", err)
			} else {
				c.logger.Info("tls certificate reloaded", "cert_file", c.certFile, "not_after", c.cert.Leaf.NotAfter)
			}
		}
	}
	return c.cert, nil
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// RedirectToHTTPS answers every plain-HTTP request with a permanent
// redirect to the same path over HTTPS on httpsPort ("" or "443": the
// default port): 301 for page loads, 308 for other methods, which keeps a
// form post a post.
func RedirectToHTTPS(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			// An HTTP/1.0 request without a Host header: nowhere to send it.
			http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
			return
		}
		if httpsPort != "" && httpsPort != "443" {
			host = net.JoinHostPort(host, httpsPort)
		} else if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		code := http.StatusMovedPermanently
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			code = http.StatusPermanentRedirect
		}
		w.Header().Set("Connection", "close")
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), code)
	})
}
