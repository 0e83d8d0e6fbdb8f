package pgpmime

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/vigil-cert/vigil/internal/i18n"
)

func TestGenerateIdentity(t *testing.T) {
	created := testNow.Add(-time.Hour)
	armored, err := GenerateIdentity("CERT Test", "cert@example.org", created)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(armored, "-----BEGIN PGP PRIVATE KEY BLOCK-----") {
		t.Fatalf("not an armored private key:\n%s", armored)
	}
	id, err := ParseIdentity(armored, "")
	if err != nil {
		t.Fatalf("ParseIdentity: %v", err)
	}
	if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(id.Fingerprint()) {
		t.Errorf("Fingerprint = %q, want 40 upper-case hex digits (v4)", id.Fingerprint())
	}
	if got, want := id.UserIDs(), []string{"CERT Test <cert@example.org>"}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("UserIDs = %q, want %q", got, want)
	}
	if !id.Created().Equal(created) {
		t.Errorf("Created = %v, want %v", id.Created(), created)
	}
	if !id.Expires().IsZero() {
		t.Errorf("Expires = %v, want never", id.Expires())
	}

	e := id.Entity()
	if e.PrimaryKey.Version != 4 || e.PrimaryKey.PubKeyAlgo != packet.PubKeyAlgoEdDSA {
		t.Errorf("primary key v%d algorithm %d, want v4 EdDSA (Ed25519 as GnuPG 2.2 knows it)", e.PrimaryKey.Version, e.PrimaryKey.PubKeyAlgo)
	}
	if len(e.Subkeys) != 1 || e.Subkeys[0].PublicKey.PubKeyAlgo != packet.PubKeyAlgoECDH {
		t.Fatalf("subkeys: want one ECDH (Curve25519) subkey, got %d", len(e.Subkeys))
	}
	if curve, _ := e.Subkeys[0].PublicKey.Curve(); curve != packet.Curve25519 {
		t.Errorf("subkey curve %q, want Curve25519", curve)
	}
	if !e.Subkeys[0].Sig.FlagEncryptCommunications {
		t.Error("subkey is not flagged for encrypting communications")
	}

	public := id.PublicKey()
	if !strings.HasPrefix(public, "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
		t.Fatalf("PublicKey is not an armored public key:\n%s", public)
	}
	status := InspectKey(public, testNow)
	if !status.Usable || status.Fingerprint != id.Fingerprint() {
		t.Errorf("InspectKey(PublicKey) = %+v, want usable with the same fingerprint", status)
	}
	if strings.Contains(public, "PRIVATE") || bytes.Contains([]byte(public), []byte(armored[40:80])) {
		t.Error("the public key contains private material")
	}

	if _, err := GenerateIdentity("", "cert@example.org", testNow); err == nil {
		t.Error("GenerateIdentity without a name: no error")
	}
}

func TestParseIdentityPassphrase(t *testing.T) {
	e := newEntity(t, "CERT Test", "cert@example.org", testNow.Add(-time.Hour), 0)
	if err := e.EncryptPrivateKeys([]byte("correct horse"), nil); err != nil {
		t.Fatal(err)
	}
	armored := armorKey(t, e, true)

	if _, err := ParseIdentity(armored, ""); !errors.Is(err, ErrPassphraseRequired) {
		t.Errorf("no passphrase: err = %v, want ErrPassphraseRequired", err)
	}
	if _, err := ParseIdentity(armored, "wrong"); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: err = %v, want ErrWrongPassphrase", err)
	}
	id, err := ParseIdentity(armored, "correct horse")
	if err != nil {
		t.Fatalf("right passphrase: %v", err)
	}
	// The unlocked key must sign and decrypt.
	msg, err := Sign(id, testHeader(t), testContent(t))
	if err != nil {
		t.Fatalf("Sign with the unlocked key: %v", err)
	}
	opened, err := Open(msg, openpgp.EntityList{id.Entity()})
	if err != nil || !opened.Signed {
		t.Fatalf("Open: %+v, %v", opened, err)
	}
	recipient, _ := newTestIdentity(t, "Contact", "abuse@uni.example")
	enc, err := SignAndEncrypt(id, testHeader(t), testContent(t), []string{recipient.PublicKey()})
	if err != nil {
		t.Fatalf("SignAndEncrypt with the unlocked key: %v", err)
	}
	if opened, err := Open(enc, openpgp.EntityList{id.Entity()}); err != nil || !opened.Signed {
		t.Fatalf("the unlocked team key cannot read its own sent mail: %+v, %v", opened, err)
	}
}

func TestParseIdentityRefuses(t *testing.T) {
	expired := newEntity(t, "Old", "old@example.org", testNow.AddDate(0, 0, -30), 24*time.Hour)
	revoked := newEntity(t, "Revoked", "revoked@example.org", testNow.Add(-time.Hour), 0)
	if err := revoked.RevokeKey(packet.KeyCompromised, "laptop stolen", &packet.Config{Time: func() time.Time { return testNow.Add(-time.Hour) }}); err != nil {
		t.Fatal(err)
	}
	signOnly := newEntity(t, "Sign only", "sign@example.org", testNow.Add(-time.Hour), 0)
	signOnly.Subkeys = nil
	valid := newEntity(t, "Valid", "valid@example.org", testNow.Add(-time.Hour), 0)

	tests := []struct {
		name, armored string
		want          error
		words         string
	}{
		{"public key", armorKey(t, valid, false), ErrNotPrivateKey, "public key"},
		{"garbage", "hello, this is not a key", ErrNotPrivateKey, "no armored OpenPGP block"},
		{"empty", "", ErrNotPrivateKey, ""},
		{"expired", armorKey(t, expired, true), ErrKeyExpired, "expired on " + testNow.AddDate(0, 0, -29).UTC().Format("2006-01-02")},
		{"revoked", armorKey(t, revoked, true), ErrKeyRevoked, "revoked: key compromised (laptop stolen)"},
		{"cannot encrypt", armorKey(t, signOnly, true), ErrCannotEncrypt, "could not read its own encrypted mail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseIdentity(tt.armored, "")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if id != nil {
				t.Error("an identity came back with the error")
			}
			if !strings.Contains(err.Error(), tt.words) {
				t.Errorf("error %q does not say %q", err, tt.words)
			}
		})
	}
}

// TestParseIdentityRefusalsInEveryLanguage: why a key cannot be the
// team's is a KeyError whose message the console and vigil serve say in
// the reader's language, the reason for revocation too; its English is
// the log's.
func TestParseIdentityRefusalsInEveryLanguage(t *testing.T) {
	valid := newEntity(t, "Valid", "valid@example.org", testNow.Add(-time.Hour), 0)
	expired := newEntity(t, "Old", "old@example.org", testNow.AddDate(0, 0, -30), 24*time.Hour)
	revoked := newEntity(t, "Revoked", "revoked@example.org", testNow.Add(-time.Hour), 0)
	if err := revoked.RevokeKey(packet.KeyCompromised, "", &packet.Config{Time: func() time.Time { return testNow.Add(-time.Hour) }}); err != nil {
		t.Fatal(err)
	}
	signOnly := newEntity(t, "Sign only", "sign@example.org", testNow.Add(-time.Hour), 0)
	signOnly.Subkeys = nil
	locked := newEntity(t, "Locked", "locked@example.org", testNow.Add(-time.Hour), 0)
	if err := locked.EncryptPrivateKeys([]byte("correct horse"), nil); err != nil {
		t.Fatal(err)
	}
	block := func(blockType string, entities ...*openpgp.Entity) string {
		var out bytes.Buffer
		w, err := armor.Encode(&out, blockType, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entities {
			if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	for _, tt := range []struct {
		name, armored, passphrase string
		// en is the English message; words are its own, in no other
		// language.
		en    string
		words []string
	}{
		{"garbage", "hello, this is not a key", "", "there is no armored OpenPGP block (want -----BEGIN PGP PRIVATE KEY BLOCK-----)", []string{"there is no"}},
		{"public key", armorKey(t, valid, false), "", "this is a public key: export the private key with gpg --armor --export-secret-keys", []string{"public key", "export the"}},
		{"signature", block("PGP SIGNATURE", valid), "", `this is a "PGP SIGNATURE" block, not an OpenPGP private key`, []string{"this is", "private key"}},
		{"two keys", block(openpgp.PrivateKeyType, valid, signOnly), "", "the block holds 2 keys, want exactly one", []string{"holds", "exactly one"}},
		{"passphrase", armorKey(t, locked, true), "", "the key is protected by a passphrase", []string{"protected", "passphrase"}},
		{"wrong passphrase", armorKey(t, locked, true), "wrong", "the passphrase is wrong", []string{"passphrase", "wrong"}},
		{"expired", armorKey(t, expired, true), "", "the key is not usable: expired on " + testNow.AddDate(0, 0, -29).UTC().Format("2006-01-02"), []string{"not usable", "expired on"}},
		{"revoked", armorKey(t, revoked, true), "", "the key is not usable: revoked: key compromised", []string{"not usable", "revoked", "compromised"}},
		{"cannot encrypt", armorKey(t, signOnly, true), "", "the key has no secret key that can decrypt, so the team could not read its own encrypted mail", []string{"secret key", "decrypt"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseIdentity(tt.armored, tt.passphrase)
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("err = %v, want a KeyError", err)
			}
			m, ok := i18n.Explain(err)
			if !ok || m.String() != tt.en {
				t.Errorf("in English %q, want %q", m.String(), tt.en)
			}
			if !strings.Contains(err.Error(), tt.en) {
				t.Errorf("the log's %q does not say %q", err, tt.en)
			}
			for _, lang := range []string{"nl", "fr", "de"} {
				said := m.In(i18n.Embedded(), lang)
				for _, english := range append(tt.words, "pgpmime.") {
					if strings.Contains(said, english) {
						t.Errorf("in %s, %q is English or an ID: %s", lang, english, said)
					}
				}
			}
		})
	}
}
