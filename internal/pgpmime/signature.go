package pgpmime

// The detached signature of RFC 3156 and the micalg that names its hash.

import (
	"bytes"
	"crypto"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

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
