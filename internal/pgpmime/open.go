package pgpmime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/emersion/go-message/textproto"
)

// ErrNotPGPMIME is returned by Open for a message that is neither
// multipart/signed nor multipart/encrypted with the OpenPGP protocols.
var ErrNotPGPMIME = errors.New("not a PGP/MIME message")

// ErrUnknownSigner is the SignatureError of a message signed by a key that
// is not in the key ring.
var ErrUnknownSigner = errors.New("signed by an unknown key")

// maxOpenSize bounds what Open decrypts, so that a compressed message
// cannot blow up in memory.
const maxOpenSize = 64 << 20

// Opened is a PGP/MIME message after decryption and signature checking.
type Opened struct {
	// Content is the MIME entity the sender signed or encrypted (with its
	// protected headers, if any), in CRLF form.
	Content   []byte
	Encrypted bool
	// Signed is true when a valid signature by a key of the key ring
	// covers Content; SignerFingerprint then names that key.
	Signed            bool
	SignerFingerprint string
	// SignatureError says why a signature present did not verify (see
	// ErrUnknownSigner); nil when the signature is good or there is none.
	SignatureError error
}

// Open reads a PGP/MIME message (multipart/signed, or multipart/encrypted
// with the signature inside or nested as multipart/signed): it decrypts
// with the private keys of keys and checks the signature with its public
// keys. It is how the team reads its own sent mail (keys holding the team
// Identity's Entity) and how tests check what Sign and SignAndEncrypt make.
// Line endings are made CRLF first, as mail stored by a local delivery
// agent often has bare LF.
func Open(message []byte, keys openpgp.KeyRing) (*Opened, error) {
	return open(canonicalCRLF(message), keys, 0)
}

func open(entity []byte, keys openpgp.KeyRing, depth int) (*Opened, error) {
	header, body, err := readEntity(entity)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	mediaType, params, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("open: Content-Type: %w: %w", err, ErrNotPGPMIME)
	}
	switch {
	case mediaType == "multipart/signed" && strings.EqualFold(params["protocol"], "application/pgp-signature"):
		return openSigned(body, params["boundary"], keys)
	case mediaType == "multipart/encrypted" && strings.EqualFold(params["protocol"], "application/pgp-encrypted"):
		if depth > 0 {
			return nil, errors.New("open: encrypted message inside an encrypted message")
		}
		return openEncrypted(body, params["boundary"], keys)
	}
	return nil, fmt.Errorf("open: %s: %w", mediaType, ErrNotPGPMIME)
}

func openSigned(body []byte, boundary string, keys openpgp.KeyRing) (*Opened, error) {
	parts, err := splitMultipart(body, boundary)
	if err != nil {
		return nil, fmt.Errorf("open signed: %w", err)
	}
	if len(parts) != 2 {
		return nil, fmt.Errorf("open signed: %d parts, want 2", len(parts))
	}
	sigHeader, sigBody, err := readEntity(parts[1])
	if err != nil {
		return nil, fmt.Errorf("open signed: signature part: %w", err)
	}
	if t, _, _ := mime.ParseMediaType(sigHeader.Get("Content-Type")); t != "application/pgp-signature" {
		return nil, fmt.Errorf("open signed: second part is %q, want application/pgp-signature", t)
	}
	opened := &Opened{Content: parts[0]}
	signer, err := openpgp.CheckArmoredDetachedSignature(keys, bytes.NewReader(parts[0]), bytes.NewReader(sigBody), nil)
	switch {
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		opened.SignatureError = ErrUnknownSigner
	case err != nil:
		opened.SignatureError = err
	default:
		opened.Signed = true
		opened.SignerFingerprint = fmt.Sprintf("%X", signer.PrimaryKey.Fingerprint)
	}
	return opened, nil
}

func openEncrypted(body []byte, boundary string, keys openpgp.KeyRing) (*Opened, error) {
	parts, err := splitMultipart(body, boundary)
	if err != nil {
		return nil, fmt.Errorf("open encrypted: %w", err)
	}
	if len(parts) != 2 {
		return nil, fmt.Errorf("open encrypted: %d parts, want 2", len(parts))
	}
	versionHeader, version, err := readEntity(parts[0])
	if err != nil {
		return nil, fmt.Errorf("open encrypted: version part: %w", err)
	}
	if t, _, _ := mime.ParseMediaType(versionHeader.Get("Content-Type")); t != "application/pgp-encrypted" || !bytes.Contains(version, []byte("Version: 1")) {
		return nil, errors.New("open encrypted: first part is not application/pgp-encrypted Version: 1")
	}
	_, payload, err := readEntity(parts[1])
	if err != nil {
		return nil, fmt.Errorf("open encrypted: data part: %w", err)
	}
	block, err := armor.Decode(bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("open encrypted: %w", err)
	}
	md, err := openpgp.ReadMessage(block.Body, keys, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("open encrypted: %w", err)
	}
	if !md.IsEncrypted {
		return nil, errors.New("open encrypted: the OpenPGP message is not encrypted")
	}
	// Reading to the end checks the integrity (MDC) and the signature.
	content, err := io.ReadAll(io.LimitReader(md.UnverifiedBody, maxOpenSize+1))
	if err != nil {
		return nil, fmt.Errorf("open encrypted: %w", err)
	}
	if len(content) > maxOpenSize {
		return nil, fmt.Errorf("open encrypted: content larger than %d bytes", maxOpenSize)
	}
	opened := &Opened{Content: canonicalCRLF(content), Encrypted: true}
	if md.IsSigned {
		switch {
		case md.SignedBy == nil:
			opened.SignatureError = ErrUnknownSigner
		case md.SignatureError != nil:
			opened.SignatureError = md.SignatureError
		default:
			opened.Signed = true
			opened.SignerFingerprint = fmt.Sprintf("%X", md.SignedBy.Entity.PrimaryKey.Fingerprint)
		}
		return opened, nil
	}
	// RFC 3156 6.1: a multipart/signed entity encrypted as a whole.
	if inner, err := open(opened.Content, keys, 1); err == nil {
		inner.Encrypted = true
		return inner, nil
	}
	return opened, nil
}

// readEntity splits an entity in CRLF form into its parsed header and body.
func readEntity(entity []byte) (textproto.Header, []byte, error) {
	start, err := bodyOffset(entity)
	if err != nil {
		return textproto.Header{}, nil, err
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(entity[:start])))
	if err != nil {
		return textproto.Header{}, nil, err
	}
	return h, entity[start:], nil
}

// splitMultipart returns the parts of a multipart body in CRLF form, each
// exactly as transmitted: from after its delimiter line to before the CRLF
// that precedes the next delimiter (RFC 2046 5.1.1), which is what a
// multipart/signed signature covers.
func splitMultipart(body []byte, boundary string) ([][]byte, error) {
	if boundary == "" {
		return nil, errors.New("no boundary")
	}
	// The first delimiter may open the body, without the CRLF that
	// precedes every other one.
	data := append([]byte("\r\n"), body...)
	delimiter := []byte("\r\n--" + boundary)
	i := bytes.Index(data, delimiter)
	if i < 0 {
		return nil, errors.New("boundary not found")
	}
	pos := i + len(delimiter)
	var parts [][]byte
	for {
		if bytes.HasPrefix(data[pos:], []byte("--")) {
			if len(parts) == 0 {
				return nil, errors.New("no parts")
			}
			return parts, nil
		}
		eol := bytes.Index(data[pos:], []byte("\r\n"))
		if eol < 0 {
			return nil, errors.New("unterminated delimiter line")
		}
		if strings.Trim(string(data[pos:pos+eol]), " \t") != "" {
			return nil, errors.New("boundary occurs inside a part")
		}
		start := pos + eol + 2
		next := bytes.Index(data[start:], delimiter)
		if next < 0 {
			return nil, errors.New("no closing delimiter")
		}
		parts = append(parts, data[start:start+next])
		pos = start + next + len(delimiter)
	}
}
