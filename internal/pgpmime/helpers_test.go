package pgpmime

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/emersion/go-message/mail"
)

// testNow is the time the tests' keys are made and their messages dated:
// whole seconds, as OpenPGP stores them.
var testNow = time.Now().Truncate(time.Second)

// newTestIdentity generates a key with GenerateIdentity and reads it back.
func newTestIdentity(t testing.TB, name, email string) (*Identity, string) {
	t.Helper()
	armored, err := GenerateIdentity(name, email, testNow.Add(-time.Hour))
	if err != nil {
		t.Fatalf("GenerateIdentity: %v", err)
	}
	id, err := ParseIdentity(armored, "")
	if err != nil {
		t.Fatalf("ParseIdentity: %v", err)
	}
	return id, armored
}

// newEntity makes a key like GenerateIdentity's, created at created and
// valid for lifetime (0: forever), for tests that shape keys by hand.
func newEntity(t testing.TB, name, email string, created time.Time, lifetime time.Duration) *openpgp.Entity {
	t.Helper()
	config := &packet.Config{
		Algorithm:       packet.PubKeyAlgoEdDSA,
		Curve:           packet.Curve25519,
		Time:            func() time.Time { return created },
		KeyLifetimeSecs: uint32(lifetime / time.Second),
	}
	e, err := openpgp.NewEntity(name, "", email, config)
	if err != nil {
		t.Fatalf("NewEntity: %v", err)
	}
	return e
}

// armorKey armors e's public part, or its private part too.
func armorKey(t testing.TB, e *openpgp.Entity, private bool) string {
	t.Helper()
	var out bytes.Buffer
	blockType := openpgp.PublicKeyType
	if private {
		blockType = openpgp.PrivateKeyType
	}
	w, err := armor.Encode(&out, blockType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if private {
		err = e.SerializePrivateWithoutSigning(w, nil)
	} else {
		err = e.Serialize(w)
	}
	if err != nil {
		t.Fatalf("serialize: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// publicKeyRing reads armored public keys into a key ring.
func publicKeyRing(t testing.TB, armored ...string) openpgp.EntityList {
	t.Helper()
	var ring openpgp.EntityList
	for _, a := range armored {
		keys, err := openpgp.ReadArmoredKeyRing(strings.NewReader(a))
		if err != nil {
			t.Fatalf("read key ring: %v", err)
		}
		ring = append(ring, keys...)
	}
	return ring
}

const testSubject = "[CERT] 3 compromised hosts in your network — école"

// testCSV has a line with trailing spaces and a non-ASCII byte, so that the
// attachment survives only if it is encoded.
var testCSV = []byte("time.source,source.ip,classification.type\n2026-01-01T00:00:00Z,192.0.2.1,infected-system  \n2026-01-01T00:01:00Z,192.0.2.2,scanner é\n")

func testHeader(t testing.TB) mail.Header {
	t.Helper()
	var h mail.Header
	h.SetAddressList("From", []*mail.Address{{Name: "CERT Test", Address: "cert@example.org"}})
	h.SetAddressList("To", []*mail.Address{{Name: "Université Exemple", Address: "abuse@uni.example"}})
	h.SetSubject(testSubject)
	h.SetDate(testNow)
	h.SetMessageID("notification-42@cert.example.org")
	h.Set("Auto-Submitted", "auto-generated")
	return h
}

func testContent(t testing.TB) []byte {
	t.Helper()
	content, err := BuildContent("Dear colleagues,\n\nwe observed 3 compromised hosts.   \nDetails are attached.\n",
		Attachment{Filename: "events.csv", ContentType: "text/csv; charset=utf-8", Data: testCSV})
	if err != nil {
		t.Fatalf("BuildContent: %v", err)
	}
	return content
}

// multipartParts splits a whole message the simple way, independently of
// splitMultipart: it returns the outer Content-Type's boundary and the
// parts between the delimiter lines.
func multipartParts(t testing.TB, message []byte, boundary string) [][]byte {
	t.Helper()
	open := []byte("--" + boundary + "\r\n")
	i := bytes.Index(message, open)
	if i < 0 {
		t.Fatalf("no delimiter --%s in message", boundary)
	}
	rest := message[i+len(open):]
	end := bytes.Index(rest, []byte("\r\n--"+boundary+"--\r\n"))
	if end < 0 {
		t.Fatalf("no closing delimiter in message")
	}
	return bytes.Split(rest[:end], []byte("\r\n--"+boundary+"\r\n"))
}

// body returns what follows an entity's header.
func body(t testing.TB, entity []byte) []byte {
	t.Helper()
	i := bytes.Index(entity, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatalf("no header end in %q", entity)
	}
	return entity[i+4:]
}
