package notify

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

func TestComposeLetter(t *testing.T) {
	keys(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) // Carol's key has expired
	l := Letter{Kind: "advisory", Subject: "VIGIL-2026-0001 concerne vos produits", Text: "Bonjour,\n\nCette annonce concerne Apache HTTP Server 2.4.58.\n"}
	org := constituency.Organisation{ID: 3, Handle: "ulb", Contacts: []constituency.Contact{
		{Email: "bob@uni.example", PGPKey: contactKey, Notify: true},
		{Email: "soc@uni.example", Notify: true},
		{Email: "carol@uni.example", PGPKey: expiredKey, Notify: true},
		{Email: "boss@uni.example"},
	}}
	msgs, err := ComposeLetter(teamIdentity, "Example CERT <cert@example.org>", org, l, now)
	if err != nil {
		t.Fatalf("ComposeLetter: %v", err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want one encrypted and one signed", len(msgs))
	}
	enc, plain := msgs[0], msgs[1]
	if !enc.Encrypted || len(enc.Recipients) != 1 || enc.Recipients[0] != "bob@uni.example" {
		t.Errorf("encrypted message to %v, encrypted %t", enc.Recipients, enc.Encrypted)
	}
	if plain.Encrypted || len(plain.Recipients) != 1 || plain.Recipients[0] != "soc@uni.example" {
		t.Errorf("signed message to %v", plain.Recipients)
	}
	for _, m := range msgs {
		if m.OrgID != 3 || m.Org != "ulb" || m.Kind != "advisory" || m.Subject != l.Subject || m.Sender != "cert@example.org" {
			t.Errorf("message %d %s %s %q %s", m.OrgID, m.Org, m.Kind, m.Subject, m.Sender)
		}
	}
	opened, err := pgpmime.Open(plain.Body, openpgp.EntityList{teamIdentity.Entity()})
	if err != nil || !opened.Signed {
		t.Fatalf("the signed message does not verify: %v, %+v", err, opened)
	}
	if !bytes.Contains(opened.Content, []byte("Apache HTTP Server 2.4.58")) {
		t.Errorf("the text is not in the signed content:\n%s", opened.Content)
	}
	if bytes.Contains(enc.Body, []byte("Apache")) {
		t.Error("the encrypted message shows its text")
	}

	t.Run("nobody to tell", func(t *testing.T) {
		msgs, err := ComposeLetter(teamIdentity, "cert@example.org", constituency.Organisation{Handle: "x"}, l, now)
		if err != nil || len(msgs) != 1 || msgs[0].Status != outbox.MessageFailed || msgs[0].LastError == "" {
			t.Errorf("ComposeLetter to nobody = %+v, %v; want one failed message saying why", msgs, err)
		}
	})
	t.Run("no identity", func(t *testing.T) {
		if _, err := ComposeLetter(nil, "cert@example.org", org, l, now); !errors.Is(err, ErrNoIdentity) {
			t.Errorf("without a key = %v", err)
		}
	})
	t.Run("no sender", func(t *testing.T) {
		if _, err := ComposeLetter(teamIdentity, "", org, l, now); err == nil {
			t.Error("without a sender: no error")
		}
	})
}
