package i18n

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Stored messages. A text for a person that a package writes into the
// database (why a publication's delivery failed or was skipped) is kept
// as its Message, not as English, so that it is said in the reader's
// language when it is shown: Encode writes the message as one line of
// JSON, ["id", arg, …], each argument a string, an integer or a message
// in the same form; Decode reads it back. What does not decode (a row
// written before) is shown as it is.
//
// Nothing in the form says who wrote it, so a stored text is trusted by
// where it comes from, not by its look: a column read through Stored
// must only ever be written by Encode, from a Message that Vigil chose,
// with any text from outside (a remote server's answer, a person's
// input) one of its arguments. An argument is a JSON string and is
// shown literally, never decoded, so outside text shaped like a stored
// message (["channel.error.gaveup",8,…]) is quoted as it came and
// cannot pass for one of Vigil's messages. The publication outbox keeps
// to this by type: a channel's Send returns its reply as a Message, and
// the worker encodes it (internal/publication/channel).

// maxDepth bounds how deep stored messages quote each other.
const maxDepth = 4

// Encode returns m in its stored form, "" for the zero message. An
// argument that is not a string, an integer or a Message is kept as the
// text fmt.Sprint makes of it.
func (m Message) Encode() string {
	if m.IsZero() {
		return ""
	}
	b, err := json.Marshal(m.stored())
	if err != nil {
		// Strings, integers and arrays of them always marshal.
		panic(fmt.Sprintf("i18n: encode %s: %v", m.ID, err))
	}
	return string(b)
}

func (m Message) stored() []any {
	out := make([]any, 0, 1+m.n)
	out = append(out, m.ID)
	for _, a := range m.Args() {
		switch a := a.(type) {
		case string, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			out = append(out, a)
		case Message:
			out = append(out, a.stored())
		default:
			out = append(out, fmt.Sprint(a))
		}
	}
	return out
}

// Decode reads a message that Encode wrote; ok is false for any other
// text, which is then to be shown as it is.
func Decode(s string) (m Message, ok bool) {
	if !strings.HasPrefix(s, `["`) {
		return Message{}, false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var list []any
	if err := dec.Decode(&list); err != nil {
		return Message{}, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Message{}, false
	}
	m, err := fromStored(list, 0)
	return m, err == nil
}

var errNotStored = errors.New("i18n: not a stored message")

func fromStored(list []any, depth int) (Message, error) {
	if depth > maxDepth || len(list) == 0 || len(list) > 1+maxArgs {
		return Message{}, errNotStored
	}
	id, ok := list[0].(string)
	if !ok || !messageID(id) {
		return Message{}, errNotStored
	}
	args := make([]any, 0, len(list)-1)
	for _, a := range list[1:] {
		switch a := a.(type) {
		case string:
			args = append(args, a)
		case json.Number:
			n, err := a.Int64()
			if err != nil {
				return Message{}, errNotStored
			}
			args = append(args, n)
		case []any:
			inner, err := fromStored(a, depth+1)
			if err != nil {
				return Message{}, err
			}
			args = append(args, inner)
		default:
			return Message{}, errNotStored
		}
	}
	return M(id, args...), nil
}

// messageID reports whether s has the shape of a message ID: words of
// letters, digits, "_" and "-" joined by dots.
func messageID(s string) bool {
	if !strings.Contains(s, ".") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// Stored returns a text kept in the database for a reader of lang: a
// stored message whose ID the catalogue knows, translated; anything
// else as it is. s must come from a column that only Encode writes (see
// above): Stored cannot tell a stored message from outside text that
// copies its form.
func (c *Catalog) Stored(lang, s string) string {
	m, ok := Decode(s)
	if !ok || !c.Has(m.ID) {
		return s
	}
	return m.In(c, lang)
}
