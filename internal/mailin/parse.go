package mailin

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/encoding/charmap"
)

// ErrEmpty is Parse's answer to a message of no bytes, the only input it
// refuses: anything else gives a Message, however broken the mail.
var ErrEmpty = errors.New("mailin: empty message")

// Parse reads raw, a whole mail as received, within limits. A broken
// part never fails the message: it is kept as an opaque attachment with
// a note, and a wrong or unknown charset is read as well as can be (as
// Windows-1252 when the bytes are not UTF-8), with a note.
func Parse(raw []byte, limits Limits) (*Message, error) {
	if len(raw) == 0 {
		return nil, ErrEmpty
	}
	p := &parser{limits: limits}
	return p.message(raw, 0), nil
}

// parser counts what one Parse has read, against its limits.
type parser struct {
	limits  Limits
	parts   int
	decoded int64
}

// message reads one mail: the top one at depth 0, a forwarded one deeper.
func (p *parser) message(raw []byte, depth int) *Message {
	m := &Message{}
	br := bufio.NewReader(bytes.NewReader(raw))
	h, err := textproto.ReadHeader(br)
	if err != nil {
		m.note("header not readable (%v): the message is kept as an opaque attachment", err)
		m.Attachments = append(m.Attachments, p.opaque("", "application/octet-stream", raw, "header not readable"))
		return m
	}
	body, _ := io.ReadAll(br)
	m.headers(h)
	p.entity(m, h, body, 0, depth)
	m.Text, m.HTML = strings.Join(m.textParts, "\n\n"), strings.Join(m.htmlParts, "\n\n")
	m.textParts, m.htmlParts = nil, nil
	p.inlineForwards(m, depth)
	return m
}

func (m *Message) note(format string, args ...any) {
	m.Notes = append(m.Notes, fmt.Sprintf(format, args...))
}

// headers reads the headers that matter; a header that cannot be read is
// kept as text.
func (m *Message) headers(th textproto.Header) {
	h := mail.Header{Header: message.Header{Header: th}}
	m.From = addresses(h, "From")
	m.To = addresses(h, "To")
	m.Cc = addresses(h, "Cc")
	m.ReplyTo = addresses(h, "Reply-To")
	m.Subject = headerText(h, "Subject")
	if th.Has("Date") {
		if d, err := h.Date(); err == nil {
			m.Date = d
		} else {
			m.DateText = headerText(h, "Date")
		}
	}
	if id, err := h.MessageID(); err == nil && id != "" {
		m.MessageID = id
	} else {
		m.MessageID = strings.Trim(strings.TrimSpace(th.Get("Message-Id")), "<>")
	}
	m.InReplyTo = messageIDs(h, "In-Reply-To")
	m.References = messageIDs(h, "References")
	m.Received = utf8Values(th.Values("Received"))
	m.AuthenticationResults = utf8Values(th.Values("Authentication-Results"))
}

// headerText is a header decoded (RFC 2047), its raw bytes read as
// Windows-1252 when they are not UTF-8.
func headerText(h mail.Header, key string) string {
	s, err := h.Text(key)
	if err != nil {
		s = h.Get(key)
	}
	return toUTF8([]byte(s))
}

func utf8Values(list []string) []string {
	for i, v := range list {
		list[i] = toUTF8([]byte(v))
	}
	return list
}

var emailAddress = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`)

// addresses reads an address header; one that does not parse gives its
// addresses as found in its text, or its text alone.
func addresses(h mail.Header, key string) []Address {
	if !h.Has(key) {
		return nil
	}
	list, err := h.AddressList(key)
	if err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			out = append(out, Address{Name: toUTF8([]byte(a.Name)), Address: a.Address})
		}
		return out
	}
	return looseAddresses(headerText(h, key))
}

// looseAddresses finds the addresses in a text that is no address list
// (a malformed header, an inline forward's "Van: Bank [mailto:x@y]").
func looseAddresses(text string) []Address {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	found := emailAddress.FindAllString(text, -1)
	if len(found) == 0 {
		return []Address{{Name: text}}
	}
	var out []Address
	seen := map[string]bool{}
	for _, a := range found {
		if !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			out = append(out, Address{Address: a})
		}
	}
	if len(out) == 1 {
		name := strings.TrimSpace(strings.NewReplacer("<"+found[0]+">", "", "[mailto:"+found[0]+"]", "", found[0], "").Replace(text))
		out[0].Name = strings.Trim(name, `"' `)
	}
	return out
}

func messageIDs(h mail.Header, key string) []string {
	if !h.Has(key) {
		return nil
	}
	if ids, err := h.MsgIDList(key); err == nil {
		return ids
	}
	var out []string
	for _, f := range strings.Fields(h.Get(key)) {
		out = append(out, strings.Trim(f, "<>,"))
	}
	return out
}

// wordDecoder decodes RFC 2047 words in any charset go-message knows.
var wordDecoder = mime.WordDecoder{CharsetReader: charset.Reader}

// entity reads one MIME entity of m: a multipart, a forwarded message, a
// body or an attachment.
func (p *parser) entity(m *Message, th textproto.Header, body []byte, nesting, depth int) {
	p.parts++
	if p.parts > p.limits.MaxParts {
		if p.parts == p.limits.MaxParts+1 {
			m.note("more than %d MIME parts: the rest is not read", p.limits.MaxParts)
		}
		return
	}
	h := message.Header{Header: th}
	mediaType, params, err := h.ContentType()
	if err != nil || mediaType == "" {
		if th.Has("Content-Type") {
			m.note("Content-Type %q not readable: read as text/plain", th.Get("Content-Type"))
		}
		mediaType, params = "text/plain", map[string]string{}
	}
	disposition, dparams, _ := h.ContentDisposition()
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if d, err := wordDecoder.DecodeHeader(name); err == nil {
		name = d
	}
	name = toUTF8([]byte(name))

	switch {
	case strings.HasPrefix(mediaType, "multipart/"):
		p.multipart(m, body, params["boundary"], mediaType, nesting, depth)
	case mediaType == "message/rfc822" || mediaType == "message/global":
		p.forwarded(m, h, body, name, mediaType, depth)
	case (mediaType == "text/plain" || mediaType == "text/html") && disposition != "attachment" && name == "":
		p.body(m, h, body, mediaType)
	default:
		m.Attachments = append(m.Attachments, p.attachment(h, body, name, mediaType))
	}
}

// multipart reads the parts of a multipart body.
func (p *parser) multipart(m *Message, body []byte, boundary, mediaType string, nesting, depth int) {
	if boundary == "" {
		m.note("%s without a boundary: kept as an opaque attachment", mediaType)
		m.Attachments = append(m.Attachments, p.opaque("", mediaType, body, "multipart without a boundary"))
		return
	}
	if nesting >= p.limits.MaxNesting {
		m.note("multiparts nested more than %d deep: the inner one is kept as an opaque attachment", p.limits.MaxNesting)
		m.Attachments = append(m.Attachments, p.opaque("", mediaType, body, "nested too deep"))
		return
	}
	mr := textproto.NewMultipartReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			m.note("%s: a part is malformed (%s): the rest is kept as an opaque attachment", mediaType, strings.TrimSpace(err.Error()))
			m.Attachments = append(m.Attachments, p.opaque("", "application/octet-stream", body, "malformed multipart"))
			return
		}
		raw, err := io.ReadAll(part)
		if err != nil {
			// The mail stops without its closing boundary: what came is
			// read as the part.
			m.note("%s: the last part is cut off (%v): read as far as it goes", mediaType, err)
			p.entity(m, part.Header, raw, nesting+1, depth)
			return
		}
		p.entity(m, part.Header, raw, nesting+1, depth)
		if p.parts > p.limits.MaxParts {
			return
		}
	}
}

// forwarded reads a message/rfc822 part as a message of its own (and
// keeps it as an attachment too: the .eml is evidence).
func (p *parser) forwarded(m *Message, h message.Header, body []byte, name, mediaType string, depth int) {
	a := p.attachment(h, body, name, mediaType)
	if name == "" {
		a.Name = "forwarded.eml"
	}
	m.Attachments = append(m.Attachments, a)
	if a.Data == nil {
		return
	}
	if depth+1 > p.limits.MaxDepth {
		m.note("forwarded messages nested more than %d deep: the inner one is kept as an attachment only", p.limits.MaxDepth)
		return
	}
	if len(a.Data) == 0 {
		m.note("an empty forwarded message")
		return
	}
	m.Forwarded = append(m.Forwarded, p.message(a.Data, depth+1))
}

// body reads a text or HTML body into m, as UTF-8.
func (p *parser) body(m *Message, h message.Header, body []byte, mediaType string) {
	a := p.attachment(h, body, "", mediaType)
	if a.Data == nil || a.Note != "" {
		// Over the limit or not decodable: an attachment with its note.
		if a.Note == "" {
			a.Note = "body over the limit on decoded bytes"
		}
		m.note("a %s body could not be read (%s): kept as an attachment", mediaType, a.Note)
		m.Attachments = append(m.Attachments, a)
		return
	}
	text := string(a.Data)
	cs := ""
	if _, params, err := h.ContentType(); err == nil {
		cs = params["charset"]
	}
	if cs != "" && !knownCharset(cs) {
		m.note("a %s body has the unknown charset %q: read as UTF-8 or Windows-1252", mediaType, cs)
	}
	if !utf8.Valid(a.Data) {
		m.note("a %s body is not valid in its charset %q: read as Windows-1252", mediaType, cs)
		text = windows1252(a.Data)
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if mediaType == "text/html" {
		m.htmlParts = append(m.htmlParts, text)
	} else {
		m.textParts = append(m.textParts, text)
	}
}

// attachment decodes a part (transfer encoding, and charset for text)
// and hashes all of it; it keeps the bytes while the message is within
// its limit on decoded bytes. A part that cannot be decoded is kept as
// it is, opaque, with a note.
func (p *parser) attachment(h message.Header, body []byte, name, mediaType string) Attachment {
	e, err := message.New(h, bytes.NewReader(body))
	if message.IsUnknownEncoding(err) {
		return p.opaque(name, mediaType, body, fmt.Sprintf("unknown transfer encoding %q: kept encoded", h.Get("Content-Transfer-Encoding")))
	}
	a := Attachment{Name: name, ContentType: mediaType}
	sum := sha256.New()
	var kept bytes.Buffer
	budget := p.limits.MaxDecodedBytes - p.decoded
	buf := make([]byte, 32<<10)
	for {
		n, rerr := e.Body.Read(buf)
		sum.Write(buf[:n])
		if a.Size+int64(n) <= budget {
			kept.Write(buf[:n])
		}
		a.Size += int64(n)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return p.opaque(name, mediaType, body, fmt.Sprintf("not decodable (%v): kept as received", rerr))
		}
	}
	a.SHA256 = hex.EncodeToString(sum.Sum(nil))
	if a.Size > budget {
		a.Note = fmt.Sprintf("over the limit of %d decoded bytes per message: hashed, not kept", p.limits.MaxDecodedBytes)
		return a
	}
	p.decoded += a.Size
	a.Data = kept.Bytes()
	if a.Data == nil {
		a.Data = []byte{}
	}
	return a
}

// knownCharset reports whether go-message decodes cs.
func knownCharset(cs string) bool {
	switch strings.ToLower(cs) {
	case "utf-8", "us-ascii":
		return true
	}
	_, err := charset.Reader(cs, strings.NewReader(""))
	return err == nil
}

// opaque keeps raw as an attachment that was not decoded.
func (p *parser) opaque(name, mediaType string, raw []byte, note string) Attachment {
	sum := sha256.Sum256(raw)
	a := Attachment{Name: name, ContentType: mediaType, Size: int64(len(raw)), SHA256: hex.EncodeToString(sum[:]), Note: note}
	if p.decoded+a.Size <= p.limits.MaxDecodedBytes {
		p.decoded += a.Size
		a.Data = bytes.Clone(raw)
	}
	return a
}

// toUTF8 returns b as a string, read as Windows-1252 when it is not UTF-8
// (the charset of most unlabelled 8-bit mail).
func toUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return windows1252(b)
}

func windows1252(b []byte) string {
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}
