package pgpmime

// The MIME entity of a notification: its text and attachments.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message/textproto"
)

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
