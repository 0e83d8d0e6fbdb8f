package pgpmime

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// outerHeader parses the header of a whole message.
func outerHeader(t testing.TB, msg []byte) mail.Header {
	t.Helper()
	e, err := message.Read(bytes.NewReader(msg))
	if err != nil && !message.IsUnknownCharset(err) {
		t.Fatalf("message.Read: %v", err)
	}
	return mail.Header{Header: e.Header}
}

// checkWireForm checks what every message must be on the wire: CRLF line
// endings only, 7-bit, lines of at most 998 characters.
func checkWireForm(t *testing.T, msg []byte) {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(msg, []byte("\r\n"), nil), []byte("\n")) || bytes.Contains(bytes.ReplaceAll(msg, []byte("\r\n"), nil), []byte("\r")) {
		t.Error("the message has a bare LF or CR")
	}
	for i, line := range bytes.Split(msg, []byte("\r\n")) {
		if len(line) > 998 {
			t.Errorf("line %d is %d characters long", i+1, len(line))
		}
		for _, b := range line {
			if b >= 0x80 {
				t.Fatalf("line %d is not 7-bit: %q", i+1, line)
			}
		}
	}
}

// checkInner parses the entity that was signed or encrypted and checks its
// protected headers, its text and its attachment.
func checkInner(t *testing.T, inner []byte) {
	t.Helper()
	e, err := message.Read(bytes.NewReader(inner))
	if err != nil {
		t.Fatalf("inner entity: %v", err)
	}
	h := mail.Header{Header: e.Header}
	mediaType, params, err := h.ContentType()
	if err != nil || mediaType != "multipart/mixed" || params["protected-headers"] != "v1" {
		t.Errorf("inner Content-Type = %q %v (%v), want multipart/mixed with protected-headers=v1", mediaType, params, err)
	}
	if subject, _ := h.Subject(); subject != testSubject {
		t.Errorf("inner Subject = %q, want %q", subject, testSubject)
	}
	if from, _ := h.AddressList("From"); len(from) != 1 || from[0].Address != "cert@example.org" {
		t.Errorf("inner From = %v", from)
	}
	if id, _ := h.MessageID(); id != "notification-42@cert.example.org" {
		t.Errorf("inner Message-ID = %q", id)
	}
	mr := e.MultipartReader()
	if mr == nil {
		t.Fatal("inner entity is not multipart")
	}
	text, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	textBody, _ := io.ReadAll(text.Body)
	if !bytes.Contains(textBody, []byte("we observed 3 compromised hosts.   \r\nDetails")) {
		t.Errorf("text part = %q: the trailing spaces must survive", textBody)
	}
	attachment, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	ah := mail.AttachmentHeader{Header: attachment.Header}
	if name, _ := ah.Filename(); name != "events.csv" {
		t.Errorf("attachment file name = %q", name)
	}
	data, err := io.ReadAll(attachment.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, testCSV) {
		t.Errorf("attachment bytes differ:\n got %q\nwant %q", data, testCSV)
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("a third part: %v", err)
	}
}

func TestSign(t *testing.T) {
	team, _ := newTestIdentity(t, "CERT Test", "cert@example.org")
	msg, err := Sign(team, testHeader(t), testContent(t))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	checkWireForm(t, msg)

	h := outerHeader(t, msg)
	mediaType, params, err := h.ContentType()
	if err != nil || mediaType != "multipart/signed" {
		t.Fatalf("Content-Type = %q (%v)", mediaType, err)
	}
	if params["protocol"] != "application/pgp-signature" || params["micalg"] != "pgp-sha256" {
		t.Errorf("Content-Type parameters = %v, want protocol application/pgp-signature and micalg pgp-sha256", params)
	}
	if h.Get("MIME-Version") != "1.0" {
		t.Errorf("MIME-Version = %q", h.Get("MIME-Version"))
	}
	if subject, _ := h.Subject(); subject != testSubject {
		t.Errorf("outer Subject of a signed message = %q, want the real one", subject)
	}
	if h.Get("Auto-Submitted") != "auto-generated" {
		t.Error("extra header Auto-Submitted lost")
	}

	parts := multipartParts(t, msg, params["boundary"])
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2", len(parts))
	}
	signed, signature := parts[0], body(t, parts[1])
	if !bytes.Contains(parts[1], []byte("Content-Type: application/pgp-signature")) {
		t.Errorf("second part is not application/pgp-signature:\n%s", parts[1])
	}
	ring := publicKeyRing(t, team.PublicKey())
	signer, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(signed), bytes.NewReader(signature), nil)
	if err != nil {
		t.Fatalf("signature over the first part does not verify: %v", err)
	}
	if signer.PrimaryKey.KeyId != team.Entity().PrimaryKey.KeyId {
		t.Errorf("signed by %X", signer.PrimaryKey.Fingerprint)
	}
	checkInner(t, signed)

	// The signature covers the part exactly: one changed byte, or the
	// part without its last CRLF, fails.
	tampered := bytes.Replace(signed, []byte("events.csv"), []byte("eventz.csv"), 1)
	if _, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(tampered), bytes.NewReader(signature), nil); err == nil {
		t.Error("a tampered part verifies")
	}
	if _, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(bytes.TrimSuffix(signed, []byte("\r\n"))), bytes.NewReader(signature), nil); err == nil {
		t.Error("the part without its last line break verifies: the signed bytes are not what was transmitted")
	}

	// The signature is made at the message's Date.
	block, err := armor.Decode(bytes.NewReader(signature))
	if err != nil {
		t.Fatal(err)
	}
	p, err := packet.Read(block.Body)
	if err != nil {
		t.Fatal(err)
	}
	if sig := p.(*packet.Signature); !sig.CreationTime.Equal(testNow) || sig.SigType != packet.SigTypeBinary {
		t.Errorf("signature made at %v type %d, want %v binary", sig.CreationTime, sig.SigType, testNow)
	}

	// Open reads it back, and refuses a tampered message.
	opened, err := Open(msg, ring)
	if err != nil || !opened.Signed || opened.Encrypted || opened.SignerFingerprint != team.Fingerprint() {
		t.Fatalf("Open = %+v, %v", opened, err)
	}
	if !bytes.Equal(opened.Content, signed) {
		t.Error("Open's Content differs from the signed part")
	}
	bad, err := Open(bytes.Replace(msg, []byte("Details are attached"), []byte("Details are attacked"), 1), ring)
	if err != nil || bad.Signed || bad.SignatureError == nil {
		t.Errorf("tampered message: Open = %+v, %v; want not Signed with a SignatureError", bad, err)
	}
	stranger, _ := newTestIdentity(t, "Stranger", "x@example.net")
	unknown, err := Open(msg, publicKeyRing(t, stranger.PublicKey()))
	if err != nil || unknown.Signed || !errors.Is(unknown.SignatureError, ErrUnknownSigner) {
		t.Errorf("unknown signer: Open = %+v, %v", unknown, err)
	}
	// Delivered to a mailbox with bare LF, the message still verifies.
	lf := bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
	if opened, err := Open(lf, ring); err != nil || !opened.Signed {
		t.Errorf("LF message: Open = %+v, %v", opened, err)
	}
}

// TestSignInto: a message signed in the array it is given, large enough
// (SignRoom) or not, is in that array or new memory, and verifies as
// Sign's does; the array's earlier bytes leave no trace.
func TestSignInto(t *testing.T) {
	team, _ := newTestIdentity(t, "CERT Test", "cert@example.org")
	ring := publicKeyRing(t, team.PublicKey())
	content := testContent(t)
	for _, room := range []int{0, 100, SignRoom(len(content))} {
		buf := bytes.Repeat([]byte{0xff}, room)[:0]
		msg, err := SignInto(buf, team, testHeader(t), content)
		if err != nil {
			t.Fatalf("room %d: SignInto: %v", room, err)
		}
		if want := room >= SignRoom(len(content)); inside(msg, buf[:room]) != want {
			t.Errorf("room %d of %d needed: message in the array %v, want %v", room, SignRoom(len(content)), !want, want)
		}
		checkWireForm(t, msg)
		opened, err := Open(msg, ring)
		if err != nil || !opened.Signed {
			t.Fatalf("room %d: Open = %+v, %v", room, opened, err)
		}
		if bytes.IndexByte(msg, 0xff) >= 0 {
			t.Errorf("room %d: the message holds a byte of the array's earlier content", room)
		}
	}
}

// inside reports whether part lies in array.
func inside(part, array []byte) bool {
	if len(part) == 0 || len(array) == 0 {
		return false
	}
	p, a := uintptr(unsafe.Pointer(unsafe.SliceData(part))), uintptr(unsafe.Pointer(unsafe.SliceData(array)))
	return p >= a && p+uintptr(len(part)) <= a+uintptr(len(array))
}

// signAndEncryptSteps is what the subtests of TestSignAndEncrypt share.
type signAndEncryptSteps struct {
	team       *Identity
	recipient  *Identity
	stranger   *Identity
	msg        []byte
	payload    []byte
	decrypt    func(*testing.T, openpgp.EntityList) ([]byte, *openpgp.MessageDetails, error)
	teamPublic openpgp.EntityList
}

func TestSignAndEncrypt(t *testing.T) {
	team, _ := newTestIdentity(t, "CERT Test", "cert@example.org")
	recipient, _ := newTestIdentity(t, "Contact", "abuse@uni.example")
	second, _ := newTestIdentity(t, "Second contact", "soc@uni.example")
	stranger, _ := newTestIdentity(t, "Stranger", "x@example.net")

	msg, err := SignAndEncrypt(team, testHeader(t), testContent(t), []string{recipient.PublicKey(), second.PublicKey()})
	if err != nil {
		t.Fatalf("SignAndEncrypt: %v", err)
	}
	checkWireForm(t, msg)

	h := outerHeader(t, msg)
	mediaType, params, err := h.ContentType()
	if err != nil || mediaType != "multipart/encrypted" || params["protocol"] != "application/pgp-encrypted" {
		t.Fatalf("Content-Type = %q %v (%v)", mediaType, params, err)
	}
	if subject, _ := h.Subject(); subject != ObscuredSubject {
		t.Errorf("outer Subject = %q, want %q", subject, ObscuredSubject)
	}
	if len(h.Values("Subject")) != 1 {
		t.Errorf("outer Subject fields: %q", h.Values("Subject"))
	}
	if bytes.Contains(msg, []byte("compromised")) || bytes.Contains(msg, []byte("events.csv")) {
		t.Error("the real subject or the attachment name is readable outside")
	}
	if to, _ := h.AddressList("To"); len(to) != 1 || to[0].Address != "abuse@uni.example" {
		t.Errorf("outer To = %v", to)
	}

	parts := multipartParts(t, msg, params["boundary"])
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2", len(parts))
	}
	if !bytes.Contains(parts[0], []byte("Content-Type: application/pgp-encrypted")) || !bytes.Equal(body(t, parts[0]), []byte("Version: 1\r\n")) {
		t.Errorf("first part:\n%s", parts[0])
	}
	if !bytes.Contains(parts[1], []byte("Content-Type: application/octet-stream")) {
		t.Errorf("second part header:\n%s", parts[1])
	}
	payload := body(t, parts[1])

	decrypt := func(t *testing.T, ring openpgp.EntityList) ([]byte, *openpgp.MessageDetails, error) {
		t.Helper()
		block, err := armor.Decode(bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		md, err := openpgp.ReadMessage(block.Body, ring, nil, nil)
		if err != nil {
			return nil, nil, err
		}
		inner, err := io.ReadAll(md.UnverifiedBody)
		return inner, md, err
	}
	teamPublic := publicKeyRing(t, team.PublicKey())
	for _, reader := range []struct {
		name string
		key  *Identity
	}{{"recipient", recipient}, {"second recipient", second}, {"team", team}} {
		t.Run("decrypted by "+reader.name, func(t *testing.T) {
			inner, md, err := decrypt(t, append(openpgp.EntityList{reader.key.Entity()}, teamPublic...))
			if err != nil {
				t.Fatalf("decrypt: %v", err)
			}
			if !md.IsEncrypted || !md.IsSigned || md.SignedBy == nil || md.SignatureError != nil {
				t.Fatalf("encrypted %v signed %v by %v, signature error %v", md.IsEncrypted, md.IsSigned, md.SignedBy, md.SignatureError)
			}
			if md.SignedBy.Entity.PrimaryKey.KeyId != team.Entity().PrimaryKey.KeyId {
				t.Errorf("signed by %X, want the team", md.SignedBy.Entity.PrimaryKey.Fingerprint)
			}
			checkInner(t, inner)
		})
	}
	s := &signAndEncryptSteps{team: team, recipient: recipient, stranger: stranger, msg: msg, payload: payload, decrypt: decrypt, teamPublic: teamPublic}
	t.Run("not decrypted by a stranger", s.notDecryptedByStranger)
	t.Run("GnuPG-compatible packets", s.gnuPGCompatiblePackets)
	t.Run("Open", s.open)
}

// notDecryptedByStranger is the subtest "not decrypted by a stranger" of TestSignAndEncrypt.
func (s *signAndEncryptSteps) notDecryptedByStranger(t *testing.T) {
	stranger := s.stranger
	decrypt := s.decrypt
	if _, _, err := decrypt(t, openpgp.EntityList{stranger.Entity()}); err == nil {
		t.Error("a key that was not a recipient decrypted the message")
	}
}

// gnuPGCompatiblePackets is the subtest "GnuPG-compatible packets" of TestSignAndEncrypt.
func (s *signAndEncryptSteps) gnuPGCompatiblePackets(t *testing.T) {
	payload := s.payload
	// SEIPDv1 with MDC and v3 session keys: what GnuPG 2.2 reads.
	block, err := armor.Decode(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	packets := packet.NewReader(block.Body)
	sessionKeys := 0
	for {
		p, err := packets.Next()
		if err != nil {
			t.Fatalf("packets: %v", err)
		}
		if k, ok := p.(*packet.EncryptedKey); ok {
			sessionKeys++
			if k.Version != 3 {
				t.Errorf("PKESK v%d, want v3", k.Version)
			}
			continue
		}
		se, ok := p.(*packet.SymmetricallyEncrypted)
		if !ok {
			t.Fatalf("unexpected packet %T", p)
		}
		if se.Version != 1 || !se.IntegrityProtected {
			t.Errorf("SEIPD v%d integrity %v, want v1 with MDC", se.Version, se.IntegrityProtected)
		}
		break
	}
	if sessionKeys != 3 {
		t.Errorf("%d session keys, want 3 (two recipients and the team)", sessionKeys)
	}
}

// open is the subtest "Open" of TestSignAndEncrypt.
func (s *signAndEncryptSteps) open(t *testing.T) {
	team := s.team
	recipient := s.recipient
	stranger := s.stranger
	msg := s.msg
	teamPublic := s.teamPublic
	opened, err := Open(msg, append(openpgp.EntityList{recipient.Entity()}, teamPublic...))
	if err != nil || !opened.Encrypted || !opened.Signed || opened.SignerFingerprint != team.Fingerprint() {
		t.Fatalf("Open = %+v, %v", opened, err)
	}
	checkInner(t, opened.Content)
	if _, err := Open(msg, openpgp.EntityList{stranger.Entity()}); err == nil {
		t.Error("Open with a stranger's key: no error")
	}
	unknown, err := Open(msg, openpgp.EntityList{recipient.Entity()})
	if err != nil || unknown.Signed || !errors.Is(unknown.SignatureError, ErrUnknownSigner) {
		t.Errorf("without the team's public key: Open = %+v, %v", unknown, err)
	}
}

func TestSignAndEncryptRefuses(t *testing.T) {
	team, _ := newTestIdentity(t, "CERT Test", "cert@example.org")
	expired := newEntity(t, "Expired", "old@example.org", testNow.AddDate(0, 0, -30), 24*time.Hour)
	signOnly := newEntity(t, "Sign only", "sign@example.org", testNow.Add(-time.Hour), 0)
	signOnly.Subkeys = nil
	recipient, _ := newTestIdentity(t, "Contact", "abuse@uni.example")

	tests := []struct {
		name       string
		recipients []string
		want       error
		words      string
	}{
		{"no recipients", nil, ErrNoRecipients, ""},
		{"expired", []string{recipient.PublicKey(), armorKey(t, expired, false)}, ErrUnusableKey, "recipient key 2: key "},
		{"cannot encrypt", []string{armorKey(t, signOnly, false)}, ErrUnusableKey, "has no key that can encrypt"},
		{"garbage", []string{"not a key"}, ErrUnusableKey, "not an OpenPGP public key"},
		{"private key", []string{armorKey(t, expired, true)}, ErrUnusableKey, "private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := SignAndEncrypt(team, testHeader(t), testContent(t), tt.recipients)
			if !errors.Is(err, tt.want) || msg != nil {
				t.Fatalf("err = %v, want %v and no message", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.words) {
				t.Errorf("error %q does not say %q", err, tt.words)
			}
		})
	}
}

func TestMessageInput(t *testing.T) {
	team, _ := newTestIdentity(t, "CERT Test", "cert@example.org")
	recipient, _ := newTestIdentity(t, "Contact", "abuse@uni.example")
	withoutDate := testHeader(t)
	withoutDate.Del("Date")
	withoutFrom := testHeader(t)
	withoutFrom.Del("From")
	withContentType := testHeader(t)
	withContentType.Set("Content-Type", "text/plain")
	rawUTF8 := testHeader(t)
	rawUTF8.Set("X-Note", "école")

	for _, tt := range []struct {
		name    string
		header  mail.Header
		content []byte
		words   string
	}{
		{"no Date", withoutDate, testContent(t), "no Date"},
		{"no From", withoutFrom, testContent(t), "no From"},
		{"Content-Type in the outer header", withContentType, testContent(t), "belongs in the content"},
		{"raw UTF-8 header", rawUTF8, testContent(t), "not ASCII"},
		{"content without header", testHeader(t), []byte("just text"), "no blank line"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Sign(team, tt.header, tt.content); err == nil || !strings.Contains(err.Error(), tt.words) {
				t.Errorf("Sign: err = %v, want it to say %q", err, tt.words)
			}
			if _, err := SignAndEncrypt(team, tt.header, tt.content, []string{recipient.PublicKey()}); err == nil || !strings.Contains(err.Error(), tt.words) {
				t.Errorf("SignAndEncrypt: err = %v, want it to say %q", err, tt.words)
			}
		})
	}

	// Sign alone needs content that relays cannot alter; encryption
	// carries any bytes.
	for _, tt := range []struct{ name, content, words string }{
		{"8-bit", "Content-Type: text/plain; charset=utf-8\r\n\r\nécole\r\n", "not 7-bit"},
		{"trailing space", "Content-Type: text/plain\r\n\r\nline \r\n", "ends in white space"},
		{"long line", "Content-Type: text/plain\r\n\r\n" + strings.Repeat("x", 999) + "\r\n", "longer than 998"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Sign(team, testHeader(t), []byte(tt.content)); err == nil || !strings.Contains(err.Error(), tt.words) {
				t.Errorf("Sign: err = %v, want it to say %q", err, tt.words)
			}
			if _, err := SignAndEncrypt(team, testHeader(t), []byte(tt.content), []string{recipient.PublicKey()}); err != nil {
				t.Errorf("SignAndEncrypt: %v", err)
			}
		})
	}

	t.Run("LF content and a single part", func(t *testing.T) {
		msg, err := Sign(team, testHeader(t), []byte("Content-Type: text/plain; charset=us-ascii\n\nHello\n"))
		if err != nil {
			t.Fatal(err)
		}
		checkWireForm(t, msg)
		opened, err := Open(msg, publicKeyRing(t, team.PublicKey()))
		if err != nil || !opened.Signed {
			t.Fatalf("Open = %+v, %v", opened, err)
		}
		h := outerHeader(t, opened.Content)
		if mediaType, params, _ := h.ContentType(); mediaType != "text/plain" || params["protected-headers"] != "v1" || params["charset"] != "us-ascii" {
			t.Errorf("inner Content-Type %q %v", mediaType, params)
		}
		if !bytes.HasSuffix(opened.Content, []byte("\r\n\r\nHello\r\n")) {
			t.Errorf("inner entity %q", opened.Content)
		}
	})

	t.Run("expired team key", func(t *testing.T) {
		old := newEntity(t, "Old team", "cert@example.org", testNow.AddDate(0, 0, -30), 24*time.Hour)
		id := &Identity{entity: old}
		if _, err := Sign(id, testHeader(t), testContent(t)); !errors.Is(err, ErrKeyExpired) {
			t.Errorf("Sign with an expired team key: %v", err)
		}
	})
}

func TestBuildContent(t *testing.T) {
	text := "Bonjour,\n\nune ligne avec des espaces   \nfin"
	content, err := BuildContent(text,
		Attachment{Filename: "événements.csv", ContentType: "text/csv; charset=utf-8", Data: testCSV},
		Attachment{Data: []byte{0, 1, 2, 255}})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSignable(content); err != nil {
		t.Errorf("BuildContent made content Sign refuses: %v", err)
	}
	e, err := message.Read(bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	mr := e.MultipartReader()
	if mr == nil {
		t.Fatal("not multipart")
	}
	p, _ := mr.NextPart()
	got, _ := io.ReadAll(p.Body)
	if want := strings.ReplaceAll(text, "\n", "\r\n") + "\r\n"; string(got) != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	p, _ = mr.NextPart()
	if name, _ := (&mail.AttachmentHeader{Header: p.Header}).Filename(); name != "événements.csv" {
		t.Errorf("file name = %q", name)
	}
	if _, params, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); params["charset"] != "utf-8" {
		t.Errorf("attachment Content-Type %q", p.Header.Get("Content-Type"))
	}
	if got, _ := io.ReadAll(p.Body); !bytes.Equal(got, testCSV) {
		t.Errorf("attachment = %q", got)
	}
	p, _ = mr.NextPart()
	if p.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("default attachment type %q", p.Header.Get("Content-Type"))
	}
	if got, _ := io.ReadAll(p.Body); !bytes.Equal(got, []byte{0, 1, 2, 255}) {
		t.Errorf("binary attachment = %v", got)
	}

	single, err := BuildContent("just text")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(single, []byte("Content-Type: text/plain; charset=utf-8\r\n")) {
		t.Errorf("text only: %q", single)
	}
	if _, err := BuildContent("x", Attachment{ContentType: "not a type;;"}); err == nil {
		t.Error("a bad content type: no error")
	}
}

func FuzzOpen(f *testing.F) {
	team, _ := newTestIdentity(f, "CERT Test", "cert@example.org")
	recipient, _ := newTestIdentity(f, "Contact", "abuse@uni.example")
	signed, err := Sign(team, testHeader(f), testContent(f))
	if err != nil {
		f.Fatal(err)
	}
	encrypted, err := SignAndEncrypt(team, testHeader(f), testContent(f), []string{recipient.PublicKey()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add(encrypted)
	f.Add([]byte("Content-Type: multipart/signed; boundary=x; protocol=\"application/pgp-signature\"\r\n\r\n--x\r\n\r\n--x--\r\n"))
	f.Add([]byte("Content-Type: multipart/encrypted; boundary=x; protocol=\"application/pgp-encrypted\"\r\n\r\n--x\r\n"))
	f.Add([]byte("Subject: plain\r\n\r\nhello\r\n"))
	ring := openpgp.EntityList{recipient.Entity(), team.Entity()}
	f.Fuzz(func(t *testing.T, msg []byte) {
		opened, err := Open(msg, ring)
		if err == nil && opened.Signed && opened.SignatureError != nil {
			t.Fatalf("Signed with a SignatureError: %v", opened.SignatureError)
		}
	})
}
