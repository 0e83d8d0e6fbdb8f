package outboxtest

// Bodies are kept packed (outbox.PackBody) and read back as queued.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
)

// signedDigest is a body as the notifier makes one: headers, a
// quoted-printable text and a CSV attachment in base64, CRLF line ends.
func signedDigest() []byte {
	csv := strings.Repeat("2026-12-04T01:25:37+00:00,192.0.2.68,3389,open-rdp,rdp\n", 500)
	enc := base64.StdEncoding.EncodeToString([]byte(csv))
	var b strings.Builder
	b.WriteString("Subject: [CERT] a\r\nContent-Type: multipart/mixed; boundary=\"=_x\"\r\n\r\n--=_x\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\nDear team,=\r\n caf=C3=A9\r\n--=_x\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--=_x--\r\n")
	return []byte(b.String())
}

// testBodies queues messages with a digest's body, an empty one, and one
// packed by its maker (Message.Packed), and reads each back as queued
// through GetMessage and DueMessages; a body kept as sent (body_codec 0,
// as the messages queued before packing hold it) reads back too. The
// digest's body takes less room packed than as sent.
func testBodies(t *testing.T, st store.Store, s Outbox) {
	ctx := t.Context()
	a := createOrg(t, st, "a")
	digest := signedDigest()
	prepacked := Message("a", a.ID, "3.digest@cert.example", "")
	prepacked.Body = append([]byte("X-Prepacked: yes\r\n"), digest...)
	prepacked.Packed = outbox.PackBody(prepacked.Body)
	msgs := []outbox.Message{
		Message("a", a.ID, "1.digest@cert.example", string(digest)),
		Message("a", a.ID, "2.digest@cert.example", ""),
		prepacked,
	}
	if err := s.QueueMessages(ctx, msgs); err != nil {
		t.Fatalf("QueueMessages: %v", err)
	}
	want := map[int64][]byte{msgs[0].ID: digest, msgs[1].ID: {}, msgs[2].ID: prepacked.Body}
	check := func(when string) {
		t.Helper()
		for id, body := range want {
			m, err := s.GetMessage(ctx, id)
			if err != nil {
				t.Fatalf("%s: GetMessage(%d): %v", when, id, err)
			}
			if !bytes.Equal(m.Body, body) || m.Size != len(body) || m.Packed != nil {
				t.Errorf("%s: message %d reads back %d bytes (size %d, packed %v), want the %d queued", when, id, len(m.Body), m.Size, m.Packed != nil, len(body))
			}
		}
		due, err := s.DueMessages(ctx, base.AddDate(10, 0, 0), 0)
		if err != nil {
			t.Fatalf("%s: DueMessages: %v", when, err)
		}
		if len(due) != len(want) {
			t.Fatalf("%s: %d messages due, want %d", when, len(due), len(want))
		}
		for _, m := range due {
			if !bytes.Equal(m.Body, want[m.ID]) {
				t.Errorf("%s: due message %d reads back %d bytes, want the %d queued", when, m.ID, len(m.Body), len(want[m.ID]))
			}
		}
	}
	check("packed")

	db := st.DB()
	var stored []byte
	if err := db.QueryRow(ctx, `SELECT body FROM outbox_messages WHERE id = ?`, msgs[0].ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(stored)*3 > len(digest) {
		t.Errorf("a digest of %d bytes is kept in %d", len(digest), len(stored))
	}

	// The way a message queued before packing is kept.
	if _, err := db.Exec(ctx, `UPDATE outbox_messages SET body = ?, body_codec = 0 WHERE id = ?`, digest, msgs[0].ID); err != nil {
		t.Fatal(err)
	}
	check("kept as sent")

	// A damaged row costs only its own message: it is failed with the
	// reason, the others are still due, and reading it is an error.
	if _, err := db.Exec(ctx, `UPDATE outbox_messages SET body = ?, body_codec = 1 WHERE id = ?`, []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, msgs[0].ID); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueMessages(ctx, base.AddDate(10, 0, 0), 0)
	if err != nil {
		t.Fatalf("DueMessages with a damaged row: %v", err)
	}
	if len(due) != 2 || due[0].ID == msgs[0].ID || due[1].ID == msgs[0].ID {
		t.Errorf("DueMessages with a damaged row: %d messages", len(due))
	}
	if _, err := s.GetMessage(ctx, msgs[0].ID); !errors.Is(err, outbox.ErrBadBody) {
		t.Errorf("GetMessage of the damaged row: %v, want ErrBadBody", err)
	}
	var status, lastError string
	if err := db.QueryRow(ctx, `SELECT status, last_error FROM outbox_messages WHERE id = ?`, msgs[0].ID).Scan(&status, &lastError); err != nil {
		t.Fatal(err)
	}
	if status != outbox.MessageFailed || !strings.Contains(lastError, "corrupt") {
		t.Errorf("the damaged message is %s (%q), want failed with the reason", status, lastError)
	}
}
