package pgpmime

import (
	"bytes"
	"crypto"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// inspectKeys are the keys TestInspectKey judges, one for each thing
// InspectKey can find wrong with a key.
type inspectKeys struct {
	created                      time.Time
	valid, expiring, expired     *openpgp.Entity
	revoked, retired, signOnly   *openpgp.Entity
	subkeyExpired, subkeyRevoked *openpgp.Entity
	future, weak                 *openpgp.Entity
	expiredDay, subkeyDay        string
	two, message                 *bytes.Buffer
}

func newInspectKeys(t *testing.T) inspectKeys {
	created := testNow.Add(-time.Hour)
	valid := newEntity(t, "Contact", "abuse@uni.example", created, 0)
	if err := valid.AddUserId("Contact", "Second address", "soc@uni.example", nil); err != nil {
		t.Fatal(err)
	}

	expiring := newEntity(t, "Expiring", "x@example.org", created, 90*24*time.Hour)

	expired := newEntity(t, "Expired", "old@example.org", testNow.AddDate(0, 0, -30), 24*time.Hour)
	expiredDay := testNow.AddDate(0, 0, -29).UTC().Format("2006-01-02")

	// Revocations are dated when the keys were made: one made after
	// testNow would not be in effect yet at testNow.
	at := &packet.Config{Time: func() time.Time { return created }}
	revoked := newEntity(t, "Revoked", "revoked@example.org", created, 0)
	if err := revoked.RevokeKey(packet.KeyCompromised, "", at); err != nil {
		t.Fatal(err)
	}
	retired := newEntity(t, "Retired", "retired@example.org", created, 0)
	if err := retired.RevokeKey(packet.KeyRetired, "moved to a new key", at); err != nil {
		t.Fatal(err)
	}

	signOnly := newEntity(t, "Sign only", "sign@example.org", created, 0)
	signOnly.Subkeys = nil

	// A primary key that never expires with an encryption subkey that
	// expired: encryption stops although the key itself is fine.
	subkeyExpired := newEntity(t, "Subkey expired", "sub@example.org", testNow.AddDate(0, 0, -30), 0)
	subkeyExpired.Subkeys = nil
	if err := subkeyExpired.AddEncryptionSubkey(&packet.Config{
		Time:            func() time.Time { return testNow.AddDate(0, 0, -30) },
		KeyLifetimeSecs: 10 * 24 * 3600,
	}); err != nil {
		t.Fatal(err)
	}
	subkeyDay := testNow.AddDate(0, 0, -20).UTC().Format("2006-01-02")

	subkeyRevoked := newEntity(t, "Subkey revoked", "subrev@example.org", created, 0)
	if err := subkeyRevoked.RevokeSubkey(&subkeyRevoked.Subkeys[0], packet.KeySuperseded, "", at); err != nil {
		t.Fatal(err)
	}

	future := newEntity(t, "Future", "future@example.org", testNow.Add(48*time.Hour), 0)

	weak, err := openpgp.NewEntity("Weak", "", "weak@example.org", &packet.Config{
		Algorithm: packet.PubKeyAlgoRSA, RSABits: 1024, DefaultHash: crypto.SHA256,
		Time: func() time.Time { return created },
	})
	if err != nil {
		t.Fatal(err)
	}

	two := &bytes.Buffer{}
	w, _ := armor.Encode(two, openpgp.PublicKeyType, nil)
	valid.Serialize(w)
	expiring.Serialize(w)
	w.Close()

	message := &bytes.Buffer{}
	w, _ = armor.Encode(message, "PGP MESSAGE", nil)
	w.Write([]byte("not a key"))
	w.Close()
	return inspectKeys{
		created: created, expiredDay: expiredDay, subkeyDay: subkeyDay, two: two, message: message,
		valid:         valid,
		expiring:      expiring,
		expired:       expired,
		revoked:       revoked,
		retired:       retired,
		signOnly:      signOnly,
		subkeyExpired: subkeyExpired,
		subkeyRevoked: subkeyRevoked,
		future:        future,
		weak:          weak,
	}
}

func TestInspectKey(t *testing.T) {
	k := newInspectKeys(t)
	created, expiredDay, subkeyDay, two, message := k.created, k.expiredDay, k.subkeyDay, k.two, k.message
	valid, expiring, expired, revoked, retired := k.valid, k.expiring, k.expired, k.revoked, k.retired
	signOnly, subkeyExpired, subkeyRevoked, future, weak := k.signOnly, k.subkeyExpired, k.subkeyRevoked, k.future, k.weak

	tests := []struct {
		name    string
		armored string
		usable  bool
		problem string // a substring of Problem
		expires time.Time
	}{
		{name: "valid", armored: armorKey(t, valid, false), usable: true},
		{name: "expiring", armored: armorKey(t, expiring, false), usable: true, expires: created.Add(90 * 24 * time.Hour)},
		{name: "expired", armored: armorKey(t, expired, false), problem: "expired on " + expiredDay},
		{name: "revoked", armored: armorKey(t, revoked, false), problem: "revoked: key compromised"},
		{name: "retired", armored: armorKey(t, retired, false), problem: "revoked: key retired (moved to a new key)"},
		{name: "no encryption key", armored: armorKey(t, signOnly, false), problem: "has no key that can encrypt"},
		{name: "encryption subkey expired", armored: armorKey(t, subkeyExpired, false), problem: "its encryption key expired on " + subkeyDay},
		{name: "encryption subkey revoked", armored: armorKey(t, subkeyRevoked, false), problem: "its encryption key is revoked: key superseded"},
		{name: "created in the future", armored: armorKey(t, future, false), problem: "is not valid before"},
		{name: "weak RSA", armored: armorKey(t, weak, false), problem: "weak 1024-bit RSA key"},
		{name: "private key", armored: armorKey(t, valid, true), problem: "this is a private key"},
		{name: "two keys", armored: two.String(), problem: "holds 2 keys"},
		{name: "message block", armored: message.String(), problem: `not an OpenPGP public key (found a "PGP MESSAGE" block)`},
		{name: "garbage", armored: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq", problem: "not an OpenPGP public key"},
		{name: "empty", armored: "  \n", problem: "no key given"},
		{name: "truncated", armored: armorKey(t, valid, false)[:300] + "\n-----END PGP PUBLIC KEY BLOCK-----\n", problem: "not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := InspectKey(tt.armored, testNow)
			if s.Usable != tt.usable {
				t.Fatalf("Usable = %v, want %v (Problem %q)", s.Usable, tt.usable, s.Problem)
			}
			if tt.usable && s.Problem != "" {
				t.Errorf("usable key with Problem %q", s.Problem)
			}
			if !strings.Contains(s.Problem, tt.problem) {
				t.Errorf("Problem = %q, want it to say %q", s.Problem, tt.problem)
			}
			if !tt.usable && tt.problem == "" {
				t.Error("an unusable key needs a Problem")
			}
			if tt.usable && !s.Expires.Equal(tt.expires) {
				t.Errorf("Expires = %v, want %v", s.Expires, tt.expires)
			}
		})
	}

	t.Run("details", func(t *testing.T) {
		s := InspectKey(armorKey(t, valid, false), testNow)
		if s.Fingerprint != fmt.Sprintf("%X", valid.PrimaryKey.Fingerprint) {
			t.Errorf("Fingerprint = %s", s.Fingerprint)
		}
		if len(s.UserIDs) != 2 || s.UserIDs[0] != "Contact <abuse@uni.example>" || s.UserIDs[1] != "Contact (Second address) <soc@uni.example>" {
			t.Errorf("UserIDs = %q, want the primary first", s.UserIDs)
		}
		if !s.Created.Equal(created) {
			t.Errorf("Created = %v, want %v", s.Created, created)
		}
		// A private key comes back without its secret, and refused.
		p := InspectKey(armorKey(t, valid, true), testNow)
		if p.Usable || p.Fingerprint != s.Fingerprint {
			t.Errorf("private key: %+v", p)
		}
		// The same key judged before it expires and after.
		if !InspectKey(armorKey(t, expiring, false), testNow).Usable {
			t.Error("expiring key unusable before its expiry")
		}
		later := InspectKey(armorKey(t, expiring, false), testNow.AddDate(0, 0, 100))
		if later.Usable || !strings.Contains(later.Problem, "expired on") {
			t.Errorf("expiring key 100 days later: %+v", later)
		}
	})
}

func FuzzInspectKey(f *testing.F) {
	e := newEntity(f, "Contact", "abuse@uni.example", testNow.Add(-time.Hour), 0)
	f.Add(armorKey(f, e, false))
	f.Add(armorKey(f, e, true))
	f.Add("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----\n")
	f.Add("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n")
	f.Add("")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, armored string) {
		s := InspectKey(armored, testNow)
		if s.Usable == (s.Problem != "") {
			t.Fatalf("Usable %v with Problem %q", s.Usable, s.Problem)
		}
	})
}
