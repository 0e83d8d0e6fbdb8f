package demo_test

import (
	"crypto/tls"
	"os"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/demo"
)

// The demo's certificate is made once, for the loopback addresses, with
// a private key only its owner reads, and kept across starts.
func TestDemoCertificate(t *testing.T) {
	set, err := demo.Prepare(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	certFile, keyFile, err := set.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf := pair.Leaf
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if time.Until(leaf.NotAfter) < 300*24*time.Hour {
		t.Errorf("valid until %s, want about a year", leaf.NotAfter)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	again, _, err := set.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	pair2, err := tls.LoadX509KeyPair(again, keyFile)
	if err != nil || !pair2.Leaf.Equal(leaf) {
		t.Errorf("a second start made a new certificate (%v)", err)
	}
}
