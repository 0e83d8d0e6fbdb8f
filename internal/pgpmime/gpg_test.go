package pgpmime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// gnupg runs gpg in a private home directory that the test removes.
type gnupg struct {
	t    *testing.T
	home string
}

// newGnuPG fails the test, rather than skipping it, without gpg: what the
// team and its contacts run is GnuPG, and test.sh installs it.
func newGnuPG(t *testing.T) *gnupg {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Fatal("gpg is not installed (apt-get install gnupg): the GnuPG interoperability tests cannot run")
	}
	// A short path: gpg-agent's socket must fit in a Unix socket name.
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	g := &gnupg{t: t, home: home}
	t.Cleanup(func() {
		// Stop the agent gpg started for this home, and only that one.
		kill := exec.Command("gpgconf", "--homedir", home, "--kill", "all")
		kill.Run()
		os.RemoveAll(home)
	})
	return g
}

// run runs gpg with args and returns its status lines (--status-fd) and
// an error with gpg's messages when it fails.
func (g *gnupg) run(stdin []byte, args ...string) (string, error) {
	g.t.Helper()
	status := filepath.Join(g.home, "status")
	full := append([]string{"--homedir", g.home, "--batch", "--no-tty", "--pinentry-mode", "loopback",
		"--status-file", status}, args...)
	cmd := exec.Command("gpg", full...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	st, _ := os.ReadFile(status)
	if err != nil {
		return string(st), fmt.Errorf("gpg %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(st), nil
}

func (g *gnupg) write(name string, data []byte) string {
	g.t.Helper()
	path := filepath.Join(g.home, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		g.t.Fatal(err)
	}
	return path
}

// gnupgSteps is what the subtests of TestGnuPG share.
type gnupgSteps struct {
	g                *gnupg
	team             *Identity
	teamPrivate      string
	recipient        *Identity
	recipientPrivate string
}

func TestGnuPG(t *testing.T) {
	g := newGnuPG(t)
	team, teamPrivate := newTestIdentity(t, "CERT Test", "cert@example.org")
	recipient, recipientPrivate := newTestIdentity(t, "Contact", "abuse@uni.example")

	s := &gnupgSteps{g: g, team: team, teamPrivate: teamPrivate, recipient: recipient, recipientPrivate: recipientPrivate}
	t.Run("imports the generated keys", s.importsGeneratedKeys)
	t.Run("verifies a signed message", s.verifiesSignedMessage)
	t.Run("decrypts an encrypted message", s.decryptsEncryptedMessage)
	t.Run("reads a passphrase-protected key exported by gpg", s.readsPassphraseProtectedKey)
	t.Run("team key reads back", s.teamKeyReadsBack)
}

// importsGeneratedKeys is the subtest "imports the generated keys" of TestGnuPG.
func (s *gnupgSteps) importsGeneratedKeys(t *testing.T) {
	g := s.g
	team := s.team
	recipient := s.recipient
	recipientPrivate := s.recipientPrivate
	if _, err := g.run(nil, "--import", g.write("team.asc", []byte(team.PublicKey()))); err != nil {
		t.Fatal(err)
	}
	if _, err := g.run(nil, "--import", g.write("recipient-secret.asc", []byte(recipientPrivate))); err != nil {
		t.Fatal(err)
	}
	// gpg must see the recipient's secret key as complete: a usable
	// primary key and encryption subkey, not stubs.
	out, err := exec.Command("gpg", "--homedir", g.home, "--batch", "--with-colons", "--list-secret-keys", recipient.Fingerprint()).Output()
	if err != nil {
		t.Fatalf("list secret keys: %v", err)
	}
	var primary, subkey bool
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 15 {
			continue
		}
		// Fields: 4 algorithm, 12 capabilities, 15 "+" for a secret
		// key that is present (not a stub).
		switch {
		case f[0] == "sec" && f[3] == "22" && strings.Contains(f[11], "s") && f[14] == "+":
			primary = true
		case f[0] == "ssb" && f[3] == "18" && strings.Contains(f[11], "e") && f[14] == "+":
			subkey = true
		}
	}
	if !primary || !subkey {
		t.Errorf("gpg lists the secret key as:\n%s\nwant an ed25519 (22) signing primary and a cv25519 (18) encryption subkey, both secret", out)
	}
}

// verifiesSignedMessage is the subtest "verifies a signed message" of TestGnuPG.
func (s *gnupgSteps) verifiesSignedMessage(t *testing.T) {
	g := s.g
	team := s.team
	msg, err := Sign(team, testHeader(t), testContent(t))
	if err != nil {
		t.Fatal(err)
	}
	parts := multipartParts(t, msg, boundaryOf(t, msg))
	data := g.write("signed.part", parts[0])
	sig := g.write("signed.sig", body(t, parts[1]))
	status, err := g.run(nil, "--verify", sig, data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "[GNUPG:] VALIDSIG "+team.Fingerprint()) {
		t.Errorf("gpg status:\n%s\nwant VALIDSIG %s", status, team.Fingerprint())
	}
	// And gpg rejects a changed part: the test can fail.
	g.write("signed.part", bytes.Replace(parts[0], []byte("attached"), []byte("attacked"), 1))
	if status, err := g.run(nil, "--verify", sig, data); err == nil || !strings.Contains(status, "BADSIG") {
		t.Errorf("gpg accepted a changed part:\n%s", status)
	}
}

// decryptsEncryptedMessage is the subtest "decrypts an encrypted message" of TestGnuPG.
func (s *gnupgSteps) decryptsEncryptedMessage(t *testing.T) {
	g := s.g
	team := s.team
	recipient := s.recipient
	msg, err := SignAndEncrypt(team, testHeader(t), testContent(t), []string{recipient.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	parts := multipartParts(t, msg, boundaryOf(t, msg))
	out := filepath.Join(g.home, "decrypted.eml")
	status, err := g.run(nil, "--output", out, "--decrypt", g.write("encrypted.asc", body(t, parts[1])))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[GNUPG:] DECRYPTION_OKAY", "[GNUPG:] GOODMDC", "[GNUPG:] VALIDSIG " + team.Fingerprint()} {
		if !strings.Contains(status, want) {
			t.Errorf("gpg status:\n%s\nwant %s", status, want)
		}
	}
	// Encrypted to the recipient's subkey and to the team's.
	for _, key := range []*openpgp.Entity{recipient.Entity(), team.Entity()} {
		if want := fmt.Sprintf("[GNUPG:] ENC_TO %016X", key.Subkeys[0].PublicKey.KeyId); !strings.Contains(status, want) {
			t.Errorf("gpg status:\n%s\nwant %s", status, want)
		}
	}
	decrypted, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	checkInner(t, decrypted)
	opened, err := Open(msg, openpgp.EntityList{recipient.Entity()})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(decrypted, opened.Content) {
		t.Error("gpg and Open decrypt to different bytes")
	}
}

// readsPassphraseProtectedKey is the subtest "reads a passphrase-protected key exported by gpg" of TestGnuPG.
func (s *gnupgSteps) readsPassphraseProtectedKey(t *testing.T) {
	g := s.g
	recipient := s.recipient
	uid := "GnuPG Team <gpg-team@example.org>"
	if _, err := g.run(nil, "--passphrase", "s3cret phrase", "--quick-gen-key", uid, "future-default", "default", "never"); err != nil {
		t.Fatal(err)
	}
	exported, err := exec.Command("gpg", "--homedir", g.home, "--batch", "--pinentry-mode", "loopback",
		"--passphrase", "s3cret phrase", "--armor", "--export-secret-keys", uid).Output()
	if err != nil || len(exported) == 0 {
		t.Fatalf("export: %v", err)
	}
	if _, err := ParseIdentity(string(exported), ""); !errors.Is(err, ErrPassphraseRequired) {
		t.Errorf("without the passphrase: %v", err)
	}
	if _, err := ParseIdentity(string(exported), "not it"); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("with a wrong passphrase: %v", err)
	}
	id, err := ParseIdentity(string(exported), "s3cret phrase")
	if err != nil {
		t.Fatalf("ParseIdentity: %v", err)
	}
	if got := id.UserIDs(); len(got) != 1 || got[0] != uid {
		t.Errorf("UserIDs = %q", got)
	}
	// gpg made the key just now, after testNow: date the message now.
	h := testHeader(t)
	h.SetDate(time.Now())
	msg, err := SignAndEncrypt(id, h, testContent(t), []string{recipient.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	parts := multipartParts(t, msg, boundaryOf(t, msg))
	status, err := g.run(nil, "--output", filepath.Join(g.home, "second.eml"), "--decrypt", g.write("second.asc", body(t, parts[1])))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "[GNUPG:] VALIDSIG "+id.Fingerprint()) {
		t.Errorf("gpg status:\n%s\nwant VALIDSIG %s", status, id.Fingerprint())
	}
}

// teamKeyReadsBack is the subtest "team key reads back" of TestGnuPG.
func (s *gnupgSteps) teamKeyReadsBack(t *testing.T) {
	g := s.g
	team := s.team
	teamPrivate := s.teamPrivate
	// What GenerateIdentity wrote, imported into gpg and exported
	// again, is still a team key Vigil accepts.
	if _, err := g.run(nil, "--import", g.write("team-secret.asc", []byte(teamPrivate))); err != nil {
		t.Fatal(err)
	}
	exported, err := exec.Command("gpg", "--homedir", g.home, "--batch", "--pinentry-mode", "loopback",
		"--passphrase", "", "--armor", "--export-secret-keys", team.Fingerprint()).Output()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	back, err := ParseIdentity(string(exported), "")
	if err != nil {
		t.Fatalf("ParseIdentity of gpg's export: %v", err)
	}
	if back.Fingerprint() != team.Fingerprint() {
		t.Errorf("fingerprint %s, want %s", back.Fingerprint(), team.Fingerprint())
	}
}

// boundaryOf returns the boundary of a message's outer Content-Type.
func boundaryOf(t *testing.T, msg []byte) string {
	t.Helper()
	h := outerHeader(t, msg)
	_, params, err := h.ContentType()
	if err != nil || params["boundary"] == "" {
		t.Fatalf("no boundary in the message's Content-Type (%v)", err)
	}
	return params["boundary"]
}
