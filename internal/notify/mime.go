package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"mime"
	"mime/quotedprintable"
	"strings"
)

// mimePart is one part of a multipart/mixed entity: its header lines
// (without line ends) and its encoded body, lines ending in CRLF.
type mimePart struct {
	header []string
	body   []byte
}

// textPart encodes text (lines ending in \n) as quoted-printable UTF-8:
// the text has accents in three of four languages, and a signed entity
// must be 7-bit so that no relay re-encodes it and breaks the signature.
func textPart(text string) mimePart {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	// The writer turns "\n" into CRLF; a stray "\r" from a template would
	// otherwise be encoded as =0D.
	w.Write([]byte(strings.ReplaceAll(text, "\r\n", "\n")))
	w.Close()
	body := b.Bytes()
	if !bytes.HasSuffix(body, []byte("\r\n")) {
		body = append(body, '\r', '\n')
	}
	return mimePart{
		header: []string{
			"Content-Type: " + mime.FormatMediaType("text/plain", map[string]string{"charset": "utf-8"}),
			"Content-Transfer-Encoding: quoted-printable",
			"Content-Disposition: inline",
		},
		body: body,
	}
}

// filePart encodes an attachment in base64, 76 characters a line.
func filePart(contentType, filename string, data []byte) mimePart {
	params := map[string]string{"name": filename}
	if strings.HasPrefix(contentType, "text/") {
		params["charset"] = "utf-8"
	}
	enc := base64.StdEncoding.EncodeToString(data)
	var b bytes.Buffer
	b.Grow(len(enc) + len(enc)/76*2 + 2)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
	return mimePart{
		header: []string{
			"Content-Type: " + mime.FormatMediaType(contentType, params),
			"Content-Transfer-Encoding: base64",
			"Content-Disposition: " + mime.FormatMediaType("attachment", map[string]string{"filename": filename}),
		},
		body: b.Bytes(),
	}
}

// multipartMixed joins parts into one multipart/mixed entity: its
// Content-Type header, an empty line and the body, in CRLF form. The
// boundary is derived from the content, so the same message renders to the
// same bytes, and starts with "=_", which neither quoted-printable nor
// base64 can produce, so it cannot occur inside a part.
func multipartMixed(parts []mimePart) []byte {
	h := sha256.New()
	size := 0
	for _, p := range parts {
		for _, l := range p.header {
			h.Write([]byte(l))
			h.Write([]byte{'\n'})
			size += len(l) + 2
		}
		h.Write(p.body)
		size += len(p.body)
	}
	boundary := "=_vigil_" + hex.EncodeToString(h.Sum(nil)[:12])
	var b bytes.Buffer
	b.Grow(size + 64*(len(parts)+2))
	b.WriteString("Content-Type: " + mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": boundary}) + "\r\n\r\n")
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n")
		for _, l := range p.header {
			b.WriteString(l)
			b.WriteString("\r\n")
		}
		b.WriteString("\r\n")
		b.Write(p.body)
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}
