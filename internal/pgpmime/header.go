package pgpmime

// The outer header of a message: checked once, written outside, and
// copied inside the signed content as protected headers.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

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
