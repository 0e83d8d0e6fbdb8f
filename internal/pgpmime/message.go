package pgpmime

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
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
	room := 1024
	for _, f := range fields {
		room += len(f.raw)
	}
	buf := make([]byte, room, room+len(content)+2*room+signatureRoom)
	// One look at the content tells whether it is in CRLF form and fit
	// to be signed, as rendered entities are; then only the header that
	// protect writes in front of its body needs checking.
	crlf, fit := scanLines(content)
	c := content
	if !crlf {
		c = toCRLF(content)
	}
	buf, err = appendProtected(buf, fields, c)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	inner := buf[room:]
	if !crlf || !fit || has8BitOrNUL(content) || checkSignable(inner[:len(inner)-(len(c)-bodyStart(c))]) != nil {
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
	if head.Len() > room {
		// Cannot happen with the room above; copied if it did.
		return append(head.Bytes(), inner...), nil
	}
	start := room - head.Len()
	copy(buf[start:], head.Bytes())
	return buf[start:len(buf):len(buf)], nil
}

// signatureRoom is more than an armored signature and its part header
// take.
const signatureRoom = 1024

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

// outerField is a field of the outer header with its wire form, which
// the header formats anew every time it is asked.
type outerField struct {
	key string
	raw []byte
}

// checkHeader checks that the outer header is complete and 7-bit, and
// returns its Date, the moment the message is signed at, and its fields.
func (id *Identity) checkHeader(header mail.Header) (time.Time, []outerField, error) {
	// A run sends all its messages from one address: the field that
	// parsed last time parses again.
	if field, last := header.Get("From"), id.lastFrom.Load(); field == "" || last == nil || *last != field {
		from, err := header.AddressList("From")
		if err != nil {
			return time.Time{}, nil, fmt.Errorf("header From: %w", err)
		}
		if len(from) == 0 {
			return time.Time{}, nil, errors.New("header has no From")
		}
		id.lastFrom.Store(&field)
	}
	date, err := id.headerDate(header)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("header Date: %w", err)
	}
	if date.IsZero() {
		return time.Time{}, nil, errors.New("header has no Date")
	}
	var list []outerField
	fields := header.Fields()
	for fields.Next() {
		key := fields.Key()
		if structural(key) {
			return time.Time{}, nil, fmt.Errorf("header has %s: it belongs in the content's own header", key)
		}
		raw, err := fields.Raw()
		if err != nil {
			return time.Time{}, nil, fmt.Errorf("header %s: %w", key, err)
		}
		for _, b := range raw {
			if b >= 0x80 {
				return time.Time{}, nil, fmt.Errorf("header %s is not ASCII: set it with mail.Header.SetSubject, SetAddressList or SetText, which encode it", key)
			}
		}
		list = append(list, outerField{key: key, raw: raw})
	}
	return date, list, nil
}

// parsedDate is a Date field and the time it says.
type parsedDate struct {
	field string
	time  time.Time
}

// headerDate is header.Date, remembering the last field parsed: a run
// dates all its messages alike, and parsing tries many layouts.
func (id *Identity) headerDate(header mail.Header) (time.Time, error) {
	field := header.Get("Date")
	if last := id.lastDate.Load(); last != nil && last.field == field && field != "" {
		return last.time, nil
	}
	date, err := header.Date()
	if err == nil && field != "" {
		id.lastDate.Store(&parsedDate{field: field, time: date})
	}
	return date, err
}

// structural reports the MIME fields that describe an entity rather than
// the message; Sign and SignAndEncrypt write their own.
func structural(key string) bool {
	return strings.EqualFold(key, "MIME-Version") || len(key) >= len("content-") && strings.EqualFold(key[:len("content-")], "content-")
}

// appendProtected appends c, content in canonical CRLF form, to dst, with
// the outer header's fields copied into its header and
// protected-headers="v1" added to its Content-Type
// (draft-autocrypt-lamps-protected-headers, RFC 9788).
func appendProtected(dst []byte, fields []outerField, c []byte) ([]byte, error) {
	bodyStart, err := bodyOffset(c)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	own, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(c[:bodyStart])))
	if err != nil {
		return nil, fmt.Errorf("content header: %w", err)
	}
	contentType := own.Get("Content-Type")
	if contentType == "" {
		contentType = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("content Content-Type %q: %w", contentType, err)
	}
	params["protected-headers"] = "v1"
	own.Set("Content-Type", mime.FormatMediaType(mediaType, params))

	out := bytes.NewBuffer(dst)
	for _, f := range fields {
		out.Write(f.raw)
	}
	if err := textproto.WriteHeader(out, own); err != nil {
		return nil, fmt.Errorf("content header: %w", err)
	}
	out.Write(c[bodyStart:])
	return out.Bytes(), nil
}

// bodyOffset finds where the body of an entity in CRLF form starts, after
// the blank line that ends its header.
func bodyOffset(c []byte) (int, error) {
	if bytes.HasPrefix(c, []byte("\r\n")) {
		return 2, nil
	}
	i := bytes.Index(c, []byte("\r\n\r\n"))
	if i < 0 {
		return 0, errors.New("no blank line after the header")
	}
	return i + 4, nil
}

// bodyStart is bodyOffset of content that has a body.
func bodyStart(c []byte) int {
	n, _ := bodyOffset(c)
	return n
}

// scanLines reports, in one pass, whether every CR and LF in c is part of
// a CRLF, and whether every line (between CRLFs) is short and does not
// end in white space.
func scanLines(c []byte) (crlf, fit bool) {
	crlf, fit = true, true
	lf, start := 0, 0
	for i := 0; ; {
		j := bytes.IndexByte(c[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		lf++
		if i < 2 || c[i-2] != '\r' {
			crlf = false
			continue
		}
		if fit && !signableLine(c[start:i-2]) {
			fit = false
		}
		start = i
	}
	fit = fit && signableLine(c[start:])
	return crlf && bytes.Count(c, []byte{'\r'}) == lf, fit
}

// canonicalCRLF ends every line with CRLF, whatever it ended with, as RFC
// 3156 requires of what is signed. It returns a copy.
func canonicalCRLF(b []byte) []byte {
	if isCanonicalCRLF(b) {
		return bytes.Clone(b)
	}
	return toCRLF(b)
}

// canonical is canonicalCRLF without the copy when b is in CRLF form
// already, as the entities Vigil renders are: the result must only be
// read.
func canonical(b []byte) []byte {
	if isCanonicalCRLF(b) {
		return b
	}
	return toCRLF(b)
}

// isCanonicalCRLF reports whether every CR and LF in b is part of a
// CRLF: every LF follows a CR, and there are no more CRs than LFs.
func isCanonicalCRLF(b []byte) bool {
	lf := 0
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		i += j
		if i == 0 || b[i-1] != '\r' {
			return false
		}
		lf++
		i++
	}
	return bytes.Count(b, []byte{'\r'}) == lf
}

// toCRLF turns CRLF, lone CR and lone LF alike into CRLF.
func toCRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/32+2)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			out = append(out, '\r', '\n')
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}

// checkSignable refuses content that mail relays may alter: 8-bit bytes,
// NUL, lines over 998 characters and trailing white space. Content that
// passes is checked in a few passes over whole words; the error, with its
// line number, comes from signableError.
func checkSignable(c []byte) error {
	if has8BitOrNUL(c) {
		return signableError(c)
	}
	start := 0 // of the current line
	for i := 0; ; {
		j := bytes.IndexByte(c[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		if i < 2 || c[i-2] != '\r' {
			// A lone LF is a character of its line.
			continue
		}
		if !signableLine(c[start : i-2]) {
			return signableError(c)
		}
		start = i
	}
	if !signableLine(c[start:]) {
		return signableError(c)
	}
	return nil
}

func signableLine(line []byte) bool {
	if len(line) > 998 {
		return false
	}
	return len(line) == 0 || (line[len(line)-1] != ' ' && line[len(line)-1] != '\t')
}

// has8BitOrNUL reports whether b has a byte of 0x80 or more, or a NUL,
// eight bytes at a time.
func has8BitOrNUL(b []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		// w&highs finds high bits; (w-ones)&^w&highs a zero byte (or
		// is set by a high byte, which fails anyway).
		if w&highs != 0 || (w-ones)&^w&highs != 0 {
			return true
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 || c == 0 {
			return true
		}
	}
	return false
}

// signableError is checkSignable line by line, naming the first line
// that is not fit to be signed.
func signableError(c []byte) error {
	for n, line := range bytes.Split(c, []byte("\r\n")) {
		if len(line) > 998 {
			return fmt.Errorf("content line %d is longer than 998 characters: encode it as quoted-printable or base64", n+1)
		}
		for _, b := range line {
			if b >= 0x80 || b == 0 {
				return fmt.Errorf("content line %d is not 7-bit: encode it as quoted-printable or base64", n+1)
			}
		}
		if len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
			return fmt.Errorf("content line %d ends in white space, which relays may strip: encode it as quoted-printable or base64", n+1)
		}
	}
	return nil
}

// detachSign signs data at when and returns the armored signature in CRLF
// form and the hash it used, which the micalg parameter must name.
func detachSign(signer *openpgp.Entity, data []byte, when time.Time) ([]byte, crypto.Hash, error) {
	config := &packet.Config{DefaultHash: crypto.SHA256, Time: func() time.Time { return when }}
	var binary bytes.Buffer
	if err := openpgp.DetachSign(&binary, signer, bytes.NewReader(data), config); err != nil {
		return nil, 0, err
	}
	hash, ok := signatureHash(binary.Bytes())
	if !ok {
		p, err := packet.Read(bytes.NewReader(binary.Bytes()))
		if err != nil {
			return nil, 0, fmt.Errorf("read back signature: %w", err)
		}
		sig, ok := p.(*packet.Signature)
		if !ok {
			return nil, 0, fmt.Errorf("read back signature: got %T", p)
		}
		hash = sig.Hash
	}
	var armored bytes.Buffer
	w, err := armor.Encode(&armored, "PGP SIGNATURE", nil)
	if err != nil {
		return nil, 0, err
	}
	if _, err := w.Write(binary.Bytes()); err != nil {
		return nil, 0, err
	}
	if err := w.Close(); err != nil {
		return nil, 0, err
	}
	return canonical(armored.Bytes()), hash, nil
}

// signatureHash reads the hash of a serialized v4 or v6 signature packet
// from its first bytes (RFC 9580 sections 4.2 and 5.2.3); ok is false for
// anything else, which is then parsed in full.
func signatureHash(b []byte) (h crypto.Hash, ok bool) {
	if len(b) < 2 || b[0]&0x80 == 0 {
		return 0, false
	}
	var tag byte
	var header int
	if b[0]&0x40 != 0 {
		tag = b[0] & 0x3f
		switch l := b[1]; {
		case l < 192:
			header = 2
		case l < 224:
			header = 3
		case l == 255:
			header = 6
		default:
			return 0, false
		}
	} else {
		tag = b[0] >> 2 & 0x0f
		switch b[0] & 3 {
		case 0:
			header = 2
		case 1:
			header = 3
		case 2:
			header = 5
		default:
			return 0, false
		}
	}
	if tag != 2 || len(b) < header+4 {
		return 0, false
	}
	body := b[header:]
	if body[0] != 4 && body[0] != 6 {
		return 0, false
	}
	return openpgp.HashIdToHash(body[3])
}

// micalgName is the RFC 3156 micalg value for h.
func micalgName(h crypto.Hash) (string, error) {
	switch h {
	case crypto.SHA256:
		return "pgp-sha256", nil
	case crypto.SHA384:
		return "pgp-sha384", nil
	case crypto.SHA512:
		return "pgp-sha512", nil
	case crypto.SHA224:
		return "pgp-sha224", nil
	case crypto.SHA3_256:
		return "pgp-sha3-256", nil
	case crypto.SHA3_512:
		return "pgp-sha3-512", nil
	}
	return "", fmt.Errorf("signature hash %v has no micalg name", h)
}

// newBoundary returns a multipart boundary that occurs in none of parts.
func newBoundary(parts ...[]byte) (string, error) {
	for range 8 {
		var r [15]byte
		if _, err := io.ReadFull(rand.Reader, r[:]); err != nil {
			return "", fmt.Errorf("boundary: %w", err)
		}
		b := "vigil-" + hex.EncodeToString(r[:])
		clash := false
		for _, p := range parts {
			// Looking for the boundary without its "--" refuses a few
			// more (never, in practice), and is quicker: the "-" of
			// rules and of other boundaries starts no false match.
			if bytes.Contains(p, []byte(b)) {
				clash = true
			}
		}
		if !clash {
			return b, nil
		}
	}
	return "", errors.New("boundary: no unused boundary found")
}

// writeOuterHeader writes the header's fields (its Subject replaced by
// subject unless that is empty), MIME-Version and contentType, and the
// blank line.
func writeOuterHeader(w *bytes.Buffer, fields []outerField, subject, contentType string) error {
	for _, f := range fields {
		if subject != "" && strings.EqualFold(f.key, "Subject") {
			continue
		}
		w.Write(f.raw)
	}
	var own textproto.Header
	// Add puts a field on top: add in reverse of the order wanted.
	own.Add("Content-Type", contentType)
	own.Add("MIME-Version", "1.0")
	if subject != "" {
		own.Add("Subject", subject)
	}
	return textproto.WriteHeader(w, own)
}

// Attachment is a file attached to a notification.
type Attachment struct {
	// Filename is what the recipient's client saves it as.
	Filename string
	// ContentType is its media type with parameters, such as
	// "text/csv; charset=utf-8"; empty means application/octet-stream.
	ContentType string
	Data        []byte
}

// BuildContent makes the MIME entity of a notification: text (UTF-8,
// quoted-printable) alone, or with attachments (base64) in a
// multipart/mixed. What it makes is fit for Sign: 7-bit, short lines, no
// trailing white space.
func BuildContent(text string, attachments ...Attachment) ([]byte, error) {
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	var body bytes.Buffer
	qp := quotedprintable.NewWriter(&body)
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, fmt.Errorf("build content: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("build content: %w", err)
	}
	var textPart bytes.Buffer
	textPart.WriteString("Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	textPart.Write(body.Bytes())
	if len(attachments) == 0 {
		return textPart.Bytes(), nil
	}

	parts := [][]byte{textPart.Bytes()}
	for _, a := range attachments {
		part, err := attachmentPart(a)
		if err != nil {
			return nil, fmt.Errorf("build content: attachment %q: %w", a.Filename, err)
		}
		parts = append(parts, part)
	}
	boundary, err := newBoundary(parts...)
	if err != nil {
		return nil, fmt.Errorf("build content: %w", err)
	}
	var out bytes.Buffer
	var h textproto.Header
	h.Add("Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": boundary}))
	if err := textproto.WriteHeader(&out, h); err != nil {
		return nil, fmt.Errorf("build content: %w", err)
	}
	for i, p := range parts {
		if i > 0 {
			out.WriteString("\r\n")
		}
		out.WriteString("--" + boundary + "\r\n")
		out.Write(p)
	}
	out.WriteString("\r\n--" + boundary + "--\r\n")
	return out.Bytes(), nil
}

func attachmentPart(a Attachment) ([]byte, error) {
	contentType := a.ContentType
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("content type %q: %w", contentType, err)
	}
	var disposition string
	if a.Filename != "" {
		params["name"] = a.Filename
		disposition = mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename})
	} else {
		disposition = "attachment"
	}
	var h textproto.Header
	h.Add("Content-Disposition", disposition)
	h.Add("Content-Transfer-Encoding", "base64")
	h.Add("Content-Type", mime.FormatMediaType(mediaType, params))
	var out bytes.Buffer
	if err := textproto.WriteHeader(&out, h); err != nil {
		return nil, err
	}
	encoded := base64.StdEncoding.EncodeToString(a.Data)
	for len(encoded) > 76 {
		out.WriteString(encoded[:76] + "\r\n")
		encoded = encoded[76:]
	}
	out.WriteString(encoded + "\r\n")
	return out.Bytes(), nil
}
