package outbox_test

import (
	"bytes"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// TestEncryptedEndToEnd sends a notification as the notifier makes it
// (signed and encrypted by pgpmime for the contact's key, committed to the
// store), through the outbox and a real SMTP session, and then reads
// what the relay received as the contact would: decrypted with the
// contact's private key, its signature checked against the team's key.
func TestEncryptedEndToEnd(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	team := newIdentity(t, "CERT Test", "cert@example.org", now)
	contact := newIdentity(t, "Uni SOC", "abuse@uni.example", now)
	if status := pgpmime.InspectKey(contact.PublicKey(), now); !status.Usable {
		t.Fatalf("contact key: %s", status.Problem)
	}
	csv := []byte("time.source,source.ip,classification.type\r\n2026-03-02T09:00:00Z,192.0.2.7,infected-system\r\n")
	body := sealedDigest(t, team, contact, now, csv)

	relay := newTestRelay(t, relayOptions{})
	st := openStore(t)
	sender := newTestSender(t, relay.config(t), st)
	m := queue(t, st, outbox.Message{
		Kind: "digest", Subject: "[CERT] 1 event for uni", MessageID: "digest-1@cert.example.org",
		Body: body, Events: 1, Encrypted: true,
	})[0]
	if err := sender.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s := getMessage(t, st, m.ID).Status; s != outbox.MessageSent {
		t.Fatalf("status %s", s)
	}
	got := relay.received()
	if len(got) != 1 {
		t.Fatalf("relay received %d messages", len(got))
	}
	arrived := got[0].Data
	if !bytes.Equal(arrived, body) {
		t.Error("the relay received other bytes than were queued")
	}
	if bytes.Contains(arrived, []byte("compromised")) || bytes.Contains(arrived, []byte("192.0.2.7")) {
		t.Error("the content is readable on the wire")
	}
	openAsContact(t, team, contact, arrived, csv)
}

// newIdentity generates an OpenPGP identity for name and email, made an
// hour before now.
func newIdentity(t *testing.T, name, email string, now time.Time) *pgpmime.Identity {
	t.Helper()
	armored, err := pgpmime.GenerateIdentity(name, email, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	id, err := pgpmime.ParseIdentity(armored, "")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// sealedDigest is a digest from the team to the contact with csv attached,
// signed by the team and encrypted to the contact, as the notifier queues
// it.
func sealedDigest(t *testing.T, team, contact *pgpmime.Identity, now time.Time, csv []byte) []byte {
	content, err := pgpmime.BuildContent("Dear colleagues,\n\none compromised host, details attached.\n",
		pgpmime.Attachment{Filename: "events.csv", ContentType: "text/csv; charset=utf-8", Data: csv})
	if err != nil {
		t.Fatal(err)
	}
	var h mail.Header
	h.SetAddressList("From", []*mail.Address{{Name: "CERT Test", Address: "cert@example.org"}})
	h.SetAddressList("To", []*mail.Address{{Address: "abuse@uni.example"}})
	h.SetSubject("[CERT] 1 event for uni")
	h.SetDate(now)
	h.SetMessageID("digest-1@cert.example.org")
	h.Set("Auto-Submitted", "auto-generated")
	body, err := pgpmime.SignAndEncrypt(team, h, content, []string{contact.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// openAsContact opens the message that arrived on the contact's side,
// with its own secret key and the team's public key, and checks the
// signature, the protected subject and the attachment.
func openAsContact(t *testing.T, team, contact *pgpmime.Identity, arrived, csv []byte) {
	teamPublic, err := openpgp.ReadArmoredKeyRing(strings.NewReader(team.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	opened, err := pgpmime.Open(arrived, append(openpgp.EntityList{contact.Entity()}, teamPublic...))
	if err != nil {
		t.Fatalf("the contact cannot open it: %v", err)
	}
	if !opened.Encrypted || !opened.Signed || opened.SignerFingerprint != team.Fingerprint() {
		t.Fatalf("opened: encrypted %v signed %v by %s (%v)", opened.Encrypted, opened.Signed, opened.SignerFingerprint, opened.SignatureError)
	}
	inner, err := message.Read(bytes.NewReader(opened.Content))
	if err != nil {
		t.Fatal(err)
	}
	ih := mail.Header{Header: inner.Header}
	if subject, _ := ih.Subject(); subject != "[CERT] 1 event for uni" {
		t.Errorf("protected Subject = %q", subject)
	}
	mr := inner.MultipartReader()
	if mr == nil {
		t.Fatal("inner entity not multipart")
	}
	if _, err := mr.NextPart(); err != nil {
		t.Fatal(err)
	}
	part, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	attachment, _ := io.ReadAll(part.Body)
	if !bytes.Equal(attachment, csv) {
		t.Errorf("attachment = %q, want %q", attachment, csv)
	}
}

// TestSwaks drives the test relay with swaks, a real SMTP client, over
// STARTTLS with AUTH PLAIN: what the outbox tests talk to is SMTP as other
// software speaks it, not only as go-smtp does.
func TestSwaks(t *testing.T) {
	if _, err := exec.LookPath("swaks"); err != nil {
		t.Fatal("swaks is not installed (apt-get install swaks): the SMTP interoperability test cannot run")
	}
	relay := newTestRelay(t, relayOptions{})
	host, port, err := net.SplitHostPort(relay.Addr)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("swaks",
		"--server", host, "--port", port,
		"--tls", "--auth", "PLAIN", "--auth-user", relayUser, "--auth-password", relayPassword,
		"--helo", "swaks.test",
		"--from", "swaks@example.org", "--to", "abuse@uni.example",
		"--header", "Subject: swaks check",
		"--body", "Hello from swaks.\n.leading dot line",
		"--timeout", "20",
	).CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	got := relay.received()
	if len(got) != 1 {
		t.Fatalf("relay received %d messages\n%s", len(got), out)
	}
	r := got[0]
	if !r.TLS || r.User != relayUser || r.From != "swaks@example.org" || strings.Join(r.To, ",") != "abuse@uni.example" {
		t.Errorf("received %+v", r)
	}
	if !bytes.Contains(r.Data, []byte("Subject: swaks check\r\n")) || !bytes.Contains(r.Data, []byte("\r\n.leading dot line")) {
		t.Errorf("data %q", r.Data)
	}
	if !strings.Contains(string(out), "250 2.0.0") {
		t.Errorf("swaks did not see the relay accept the message:\n%s", out)
	}

	// And the relay refuses what it must: a login before STARTTLS.
	out, err = exec.Command("swaks",
		"--server", host, "--port", port,
		"--auth", "PLAIN", "--auth-user", relayUser, "--auth-password", relayPassword,
		"--from", "swaks@example.org", "--to", "abuse@uni.example", "--timeout", "20",
	).CombinedOutput()
	if err == nil {
		t.Errorf("swaks logged in without TLS:\n%s", out)
	}
	if n := len(relay.received()); n != 1 {
		t.Errorf("relay has %d messages after the refused session", n)
	}
}
