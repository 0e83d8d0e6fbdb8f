package mailin

import "time"

// Limits bound what Parse reads of one message, so that a hostile mail
// costs a bounded amount of work and memory. What is over a limit is
// kept opaque (its size and hash, without its bytes) and noted.
type Limits struct {
	// MaxDepth bounds forwarded messages inside forwarded messages
	// (message/rfc822 parts and inline forwards alike).
	MaxDepth int
	// MaxNesting bounds multiparts inside multiparts.
	MaxNesting int
	// MaxParts bounds the MIME parts read in the whole message.
	MaxParts int
	// MaxDecodedBytes bounds the decoded bytes kept in the whole message
	// (bodies and attachments); a part past it is hashed, not kept.
	MaxDecodedBytes int64
}

// DefaultLimits are generous for real mail and small for a bomb.
func DefaultLimits() Limits {
	return Limits{MaxDepth: 8, MaxNesting: 20, MaxParts: 500, MaxDecodedBytes: 64 << 20}
}

// Address is a mailbox of a header: a display name and an address. When
// a header could not be read as addresses, Name holds its text and
// Address is empty.
type Address struct {
	Name    string
	Address string
}

// Message is a mail as Parse reads it: the headers that matter to an
// analyst, the bodies decoded to UTF-8, the attachments and the messages
// forwarded in it. Nothing in it is rendered or followed: the HTML body
// is data.
type Message struct {
	From, To, Cc, ReplyTo []Address
	// Subject is decoded (RFC 2047) to UTF-8.
	Subject string
	// Date is the Date header; the zero time when it could not be read,
	// DateText then keeps what it said (as an inline forward's "Sent:
	// maandag 1 december 2026 10:00" does).
	Date     time.Time
	DateText string
	// MessageID, InReplyTo and References are message IDs without their
	// angle brackets.
	MessageID  string
	InReplyTo  []string
	References []string
	// Received are the Received headers, the last hop first, and
	// AuthenticationResults the Authentication-Results headers, as they
	// are written.
	Received              []string
	AuthenticationResults []string
	// Text and HTML are the bodies, decoded to UTF-8 (several parts of
	// one kind joined by a blank line).
	Text string
	HTML string
	// Attachments are the parts that are not a body nor a forwarded
	// message, and the parts that could not be read (with a Note).
	Attachments []Attachment
	// Forwarded are the messages forwarded in this one: message/rfc822
	// parts, then forwards written inline in the text body.
	Forwarded []*Message
	// Inline says the message was found inline in a text body; only its
	// From, To, Cc, Subject, date and Text are known.
	Inline bool
	// Notes say what was odd: an unknown charset read as Windows-1252, a
	// malformed part, a limit reached.
	Notes []string

	// textParts and htmlParts gather the bodies while the parts are
	// read, joined once at the end.
	textParts, htmlParts []string
}

// Attachment is a part kept as a file: never opened, never decompressed
// (an archive is bytes with a hash, whatever it holds).
type Attachment struct {
	// Name is the file name the sender gave, decoded; may be empty.
	Name        string
	ContentType string
	// Size and SHA256 (hex) are of the decoded content, all of it, even
	// when Data is not kept.
	Size   int64
	SHA256 string
	// Data is the decoded content; nil when it was over the limit on
	// decoded bytes.
	Data []byte
	// Note says why the part is opaque: malformed, not decodable, over a
	// limit; empty for an ordinary attachment.
	Note string
}
