package pgpmime

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"mime"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/emersion/go-message/mail"
)

// ObscuredSubject is the Subject outside every encrypted message. The real
// subject travels inside, as a protected header, where mail clients that
// decrypt the message show it instead; anyone on the path sees only this.
const ObscuredSubject = "Vigil notification"

// ErrNoRecipients is returned by SignAndEncrypt without a recipient key:
// a message for nobody but the team is a mistake, not something to send.
var ErrNoRecipients = errors.New("no recipient key")

// Sign returns the complete RFC 5322 message with header as its header
// and content, a MIME entity (its own header, such as Content-Type and
// Content-Transfer-Encoding, a blank line and its body, as BuildContent
// makes), signed by id as RFC 3156 multipart/signed. The header must have
// From and Date; the signature is made at Date. The content must be 7-bit
// with no trailing white space on any line (quoted-printable or base64
// encode anything else), because relays may rewrite such lines and break
// the signature; RFC 3156 section 3 requires it.
//
// The header's fields are also copied inside the signed entity, marked
// protected-headers="v1", so that clients can show that Subject and From
// were signed too.
func Sign(id *Identity, header mail.Header, content []byte) ([]byte, error) {
	return SignInto(nil, id, header, content)
}

// SignInto is Sign writing the message in room's array when it has the
// capacity (SignRoom), in new memory when not: the message returned may
// be a part of room, which must not be used for anything else while the
// message is. A caller that signs many messages (a notifier's pass) keeps
// arrays for them instead of allocating and clearing one a message.
func SignInto(room []byte, id *Identity, header mail.Header, content []byte) ([]byte, error) {
	date, fields, err := id.checkHeader(header)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if problem, err := unusable(id.entity, date); err != nil {
		return nil, fmt.Errorf("sign: team key %s %s: %w", id.Fingerprint(), problem, err)
	}
	// The signed part is written where it goes in the message, behind
	// room for the outer header, which names the hash and the boundary
	// and so comes last: the part is not copied again.
	front := headerRoom(fields)
	size := front + len(content) + 2*front + signatureRoom
	var buf []byte
	if cap(room) >= size {
		buf = room[:front]
	} else {
		buf = make([]byte, front, size)
	}
	// One look at the content tells whether it is in CRLF form and fit
	// to be signed, as rendered entities are; then only the header that
	// protect writes in front of its body needs checking.
	simple := signableCRLF(content)
	crlf, fit := true, true
	if !simple {
		crlf, fit = scanLines(content)
	}
	c := content
	if !crlf {
		c = toCRLF(content)
	}
	buf, err = appendProtected(buf, fields, c)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	inner := buf[front:]
	if !simple && (!crlf || !fit || has8BitOrNUL(content)) || checkSignable(inner[:len(inner)-(len(c)-bodyStart(c))]) != nil {
		if err := checkSignable(inner); err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
	}
	signature, hash, err := detachSign(id.entity, inner, date)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	micalg, err := micalgName(hash)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	boundary, err := newBoundary(inner, signature)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}

	var head bytes.Buffer
	contentType := mime.FormatMediaType("multipart/signed", map[string]string{
		"boundary": boundary,
		"micalg":   micalg,
		"protocol": "application/pgp-signature",
	})
	if err := writeOuterHeader(&head, fields, "", contentType); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	head.WriteString("This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n")
	head.WriteString("--" + boundary + "\r\n")
	// The signed part goes out byte for byte as it was signed: the CRLF
	// before the next delimiter belongs to the delimiter (RFC 2046 5.1.1).
	buf = append(buf, "\r\n--"+boundary+"\r\n"...)
	buf = append(buf, "Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n"+
		"Content-Description: OpenPGP digital signature\r\n"+
		"Content-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n"...)
	buf = append(buf, signature...)
	buf = append(buf, "\r\n--"+boundary+"--\r\n"...)
	if head.Len() > front {
		// Cannot happen with the room above; copied if it did.
		return append(head.Bytes(), buf[front:]...), nil
	}
	start := front - head.Len()
	copy(buf[start:], head.Bytes())
	return buf[start:len(buf):len(buf)], nil
}

// signatureRoom is more than an armored signature and its part header
// take.
const signatureRoom = 1024

// headerRoom is what Sign keeps in front of the signed part for the
// outer header: more than it takes.
func headerRoom(fields []outerField) int {
	room := 1024
	for _, f := range fields {
		room += len(f.raw)
	}
	return room
}

// SignRoom is the capacity SignInto needs to sign content of that many
// bytes (in CRLF form) under a header of at most a KB in the array it is
// given.
func SignRoom(content int) int {
	return 3*(1024+1024) + content + signatureRoom
}

// SignAndEncrypt returns the complete RFC 5322 message with header as its
// header and content (a MIME entity, as for Sign) signed by id and
// encrypted, as RFC 3156 multipart/encrypted, to every key in recipients
// (armored public keys) and to id itself, so that the team can read what it
// sent. The signature and the encryption are combined in one OpenPGP
// message (RFC 3156 section 6.2), as GnuPG and Thunderbird do.
//
// The header's fields are copied inside as protected headers (content type
// parameter protected-headers="v1"), and the Subject outside is replaced by
// ObscuredSubject. A recipient key that InspectKey does not call Usable at
// the message's Date fails the whole message with ErrUnusableKey: nothing
// is ever sent in clear instead.
func SignAndEncrypt(id *Identity, header mail.Header, content []byte, recipients []string) ([]byte, error) {
	date, fields, err := id.checkHeader(header)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if problem, err := unusable(id.entity, date); err != nil {
		return nil, fmt.Errorf("encrypt: team key %s %s: %w", id.Fingerprint(), problem, err)
	}
	if len(recipients) == 0 {
		return nil, fmt.Errorf("encrypt: %w", ErrNoRecipients)
	}
	to := make([]*openpgp.Entity, 0, len(recipients)+1)
	seen := map[string]bool{}
	for i, armored := range recipients {
		e, err := recipientEntity(armored, date)
		if err != nil {
			return nil, fmt.Errorf("encrypt: recipient key %d: %w", i+1, err)
		}
		if fp := string(e.PrimaryKey.Fingerprint); !seen[fp] {
			seen[fp] = true
			to = append(to, e)
		}
	}
	if !seen[string(id.entity.PrimaryKey.Fingerprint)] {
		to = append(to, id.entity)
	}
	inner, err := appendProtected(make([]byte, 0, len(content)+1024), fields, canonical(content))
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}

	var armored bytes.Buffer
	aw, err := armor.Encode(&armored, "PGP MESSAGE", nil)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	// No AEAD configuration: SEIPDv1 with MDC is what GnuPG 2.2 and 2.4
	// decrypt; RFC 9580 SEIPDv2 is not readable there.
	config := &packet.Config{
		DefaultHash:   crypto.SHA256,
		DefaultCipher: packet.CipherAES256,
		Time:          func() time.Time { return date },
	}
	plaintext, err := openpgp.Encrypt(aw, to, id.entity, &openpgp.FileHints{IsBinary: true}, config)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if _, err := plaintext.Write(inner); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if err := plaintext.Close(); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	payload := canonicalCRLF(armored.Bytes())
	boundary, err := newBoundary(payload)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}

	var out bytes.Buffer
	contentType := mime.FormatMediaType("multipart/encrypted", map[string]string{
		"boundary": boundary,
		"protocol": "application/pgp-encrypted",
	})
	if err := writeOuterHeader(&out, fields, ObscuredSubject, contentType); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	out.WriteString("This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n")
	out.WriteString("--" + boundary + "\r\n")
	out.WriteString("Content-Type: application/pgp-encrypted\r\n" +
		"Content-Description: PGP/MIME version identification\r\n\r\n" +
		"Version: 1\r\n")
	out.WriteString("\r\n--" + boundary + "\r\n")
	out.WriteString("Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n" +
		"Content-Description: OpenPGP encrypted message\r\n" +
		"Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n")
	out.Write(payload)
	out.WriteString("\r\n--" + boundary + "--\r\n")
	return out.Bytes(), nil
}
