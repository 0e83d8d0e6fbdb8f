package console

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// keyRecorder is a notifier that remembers the identities handed to it.
type keyRecorder struct {
	*notify.Notifier
	got []*pgpmime.Identity
}

func (k *keyRecorder) SetIdentity(id *pgpmime.Identity) {
	k.got = append(k.got, id)
	k.Notifier.SetIdentity(id)
}

func TestTeamKey(t *testing.T) {
	rec := &keyRecorder{}
	env := newTeamEnv(t, func(c *Config) {
		// Record what reaches the notifier newEnv made, as vigil serve's.
		rec.Notifier = c.Notifier.(*notify.Notifier)
		c.Notifier = rec
	})
	s := &teamKeySteps{env: env, b: env.admin(), rec: rec}
	s.generate(t)
	t.Run("replacing needs a confirmation", s.replaceUnconfirmed)
	t.Run("import a protected key", s.importProtected)
	t.Run("a public key is refused, saying why", s.importPublic)
	t.Run("the private key is on no page", s.privateKeyHidden)
	for _, want := range []string{"identity.generate", "identity.import"} {
		if !contains(env.auditActions(), want) {
			t.Errorf("audit lacks %s", want)
		}
	}
	t.Run("an analyst may not see it", s.analystRefused)
}

// teamKeySteps is what the steps of TestTeamKey share: the console, an
// administrator's browser, what reached the notifier, and the key the
// first step generated as stored.
type teamKeySteps struct {
	env    *teamEnv
	b      *browser
	rec    *keyRecorder
	stored []byte
}

// generate checks the page without a key and refuses bad names, then
// generates a key and checks that it is stored as the notifier reads it,
// given to the notifier, shown, and offered as a download.
func (s *teamKeySteps) generate(t *testing.T) {
	env, b, rec, ctx := s.env, s.b, s.rec, context.Background()
	mustSay(t, b.get("/notifications/identity").body, "The team has no OpenPGP key yet")
	if r := b.get("/notifications/identity/public.asc"); r.status != http.StatusNotFound {
		t.Fatalf("public key without a key: %d", r.status)
	}
	for name, form := range map[string]url.Values{
		"no name":    {"name": {""}, "email": {"cert@cert.example"}},
		"brackets":   {"name": {"CERT <evil>"}, "email": {"cert@cert.example"}},
		"bad e-mail": {"name": {"Example CERT"}, "email": {"Example CERT <cert@cert.example>"}},
	} {
		if r := b.post("/notifications/identity/generate", form); r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d", name, r.status)
		}
	}
	r := b.post("/notifications/identity/generate", url.Values{"name": {"Example CERT"}, "email": {"cert@cert.example"}})
	if r.status != http.StatusSeeOther || r.location != "/notifications/identity?done=identity" {
		t.Fatalf("generate: %d %q %.300s", r.status, r.location, text(r.body))
	}
	stored, err := env.store.GetState(ctx, IdentityStateKey)
	if err != nil {
		t.Fatal(err)
	}
	s.stored = stored
	id, err := pgpmime.ParseIdentity(string(stored), "")
	if err != nil {
		t.Fatalf("the stored key does not read back as the notifier reads it: %v", err)
	}
	if len(rec.got) != 1 || rec.got[0].Fingerprint() != id.Fingerprint() {
		t.Fatalf("the notifier was not given the new key: %v", rec.got)
	}
	page := b.get("/notifications/identity?done=identity")
	mustSay(t, page.body, "The team key was saved", id.Fingerprint(), "Example CERT <cert@cert.example>", "never")
	mustContain(t, page.body, "-----BEGIN PGP PUBLIC KEY BLOCK-----")
	pub := b.get("/notifications/identity/public.asc")
	if pub.status != http.StatusOK || pub.header.Get("Content-Type") != "application/pgp-keys" || pub.body != id.PublicKey() {
		t.Fatalf("public key download: %d %q %.100s", pub.status, pub.header.Get("Content-Type"), pub.body)
	}
	if ks := pgpmime.InspectKey(pub.body, time.Now()); !ks.Usable || ks.Fingerprint != id.Fingerprint() {
		t.Fatalf("downloaded key %+v", ks)
	}
}

// replaceUnconfirmed checks that a new key does not replace the team key
// without the box ticked.
func (s *teamKeySteps) replaceUnconfirmed(t *testing.T) {
	env, b, stored, ctx := s.env, s.b, s.stored, context.Background()
	b.get("/notifications/identity")
	r := b.post("/notifications/identity/generate", url.Values{"name": {"Other CERT"}, "email": {"other@cert.example"}})
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d", r.status)
	}
	mustSay(t, r.body, "tick the box to confirm")
	if again, _ := env.store.GetState(ctx, IdentityStateKey); !bytes.Equal(again, stored) {
		t.Fatal("the key was replaced without confirmation")
	}
}

// importProtected imports a key protected by a passphrase: without the
// right passphrase it is refused and not shown back, with it it is stored
// unlocked and given to the notifier.
func (s *teamKeySteps) importProtected(t *testing.T) {
	env, b, rec, ctx := s.env, s.b, s.rec, context.Background()
	entity, _ := testKey(t, "Imported CERT", "imported@cert.example", time.Now().Add(-time.Hour), 0)
	if err := entity.PrivateKey.Encrypt([]byte("correct horse")); err != nil {
		t.Fatal(err)
	}
	for _, sub := range entity.Subkeys {
		if err := sub.PrivateKey.Encrypt([]byte("correct horse")); err != nil {
			t.Fatal(err)
		}
	}
	armored := armorPrivate(t, entity)
	for pass, want := range map[string]string{"": "protected by a passphrase", "wrong": "The passphrase is wrong."} {
		r := b.post("/notifications/identity/import", url.Values{"key": {armored}, "passphrase": {pass}, "replace": {"yes"}})
		if r.status != http.StatusBadRequest {
			t.Fatalf("passphrase %q: %d", pass, r.status)
		}
		mustSay(t, r.body, want)
		if line, shown := showsKey(r.body, armored); shown {
			t.Fatalf("the pasted private key is shown back: %q", line)
		}
	}
	r := b.post("/notifications/identity/import", url.Values{"key": {armored}, "passphrase": {"correct horse"}, "replace": {"yes"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("import: %d %.300s", r.status, text(r.body))
	}
	raw, _ := env.store.GetState(ctx, IdentityStateKey)
	got, err := pgpmime.ParseIdentity(string(raw), "")
	if err != nil {
		t.Fatalf("the imported key is not stored unlocked: %v", err)
	}
	want := fmt.Sprintf("%X", entity.PrimaryKey.Fingerprint)
	if got.Fingerprint() != want || rec.got[len(rec.got)-1].Fingerprint() != want {
		t.Fatalf("stored %s, notifier %s, want %s", got.Fingerprint(), rec.got[len(rec.got)-1].Fingerprint(), want)
	}
}

// importPublic checks that a public key given for the team's says why
// it is refused, in the reader's language: pgpmime's reason.
func (s *teamKeySteps) importPublic(t *testing.T) {
	_, public := testKey(t, "Public CERT", "public@cert.example", time.Now().Add(-time.Hour), 0)
	refused := func(b *browser) string {
		b.get("/notifications/identity")
		r := b.post("/notifications/identity/import", url.Values{"key": {public}, "replace": {"yes"}})
		if r.status != http.StatusBadRequest {
			t.Fatalf("a public key: %d", r.status)
		}
		return r.body
	}
	mustContain(t, refused(s.b), "Vigil cannot use this key: this is a public key: export the private key with gpg --armor --export-secret-keys.")
	fr := s.env.addUser("responsable", auth.RoleAdmin, "the French admin's passphrase")
	fr.Language = "fr"
	if err := s.env.store.UpdateUser(context.Background(), fr); err != nil {
		t.Fatal(err)
	}
	b := s.env.browser()
	b.login("responsable", "the French admin's passphrase")
	mustContain(t, refused(b), "Vigil ne peut pas utiliser cette clé : ceci est une clé publique : exportez la clé privée avec gpg --armor --export-secret-keys.")
}

// privateKeyHidden checks that the stored private key appears on no page
// and in no audit entry.
func (s *teamKeySteps) privateKeyHidden(t *testing.T) {
	env, b, ctx := s.env, s.b, context.Background()
	raw, _ := env.store.GetState(ctx, IdentityStateKey)
	block, err := armor.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if block.Type != openpgp.PrivateKeyType {
		t.Fatalf("stored block %q", block.Type)
	}
	for _, p := range []string{"/notifications/identity", "/notifications/identity/public.asc", "/notifications/settings", "/audit", "/"} {
		if line, shown := showsKey(b.get(p).body, string(raw)); shown {
			t.Errorf("%s shows the private key: %q", p, line)
		}
	}
	entries, _ := env.store.ListAudit(ctx, auth.AuditQuery{Limit: 100})
	for _, e := range entries {
		if line, shown := showsKey(e.Target+" "+e.Detail, string(raw)); shown {
			t.Errorf("audit entry %s holds key material: %q", e.Action, line)
		}
	}
}

// analystRefused checks that an analyst can neither open the team key page
// nor download the public key, nor is led there.
func (s *teamKeySteps) analystRefused(t *testing.T) {
	a := s.env.analyst()
	for _, p := range []string{"/notifications/identity", "/notifications/identity/public.asc"} {
		if r := a.get(p); r.status != http.StatusForbidden {
			t.Errorf("%s: %d", p, r.status)
		}
	}
	if strings.Contains(a.get("/notifications/settings").body, `href="/notifications/identity"`) {
		t.Error("the settings link the team key page for an analyst")
	}
}

func armorPrivate(t *testing.T, e *openpgp.Entity) string {
	t.Helper()
	var out bytes.Buffer
	w, err := armor.Encode(&out, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// showsKey reports whether page holds a line of the armored key's body
// (its base64 lines, not the BEGIN line a placeholder may show).
func showsKey(page, armored string) (string, bool) {
	for _, line := range strings.Split(armored, "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= 40 && !strings.HasPrefix(line, "-----") && strings.Contains(page, line) {
			return line, true
		}
	}
	return "", false
}
