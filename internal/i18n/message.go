package i18n

import (
	"errors"
	"fmt"
	"sync"
)

// Message is a text for a person named by its catalogue ID and
// arguments, for a package that finds a problem but does not know the
// reader's language (constituency, notify): it returns a Message, and
// the console translates it with In. String gives the English, for logs,
// the command line and error values. A Message is comparable (its
// arguments are held in an array), so values that hold one can be
// compared and used as map keys.
type Message struct {
	ID   string
	args [maxArgs]any
	n    int
}

// maxArgs is the most arguments a Message holds.
const maxArgs = 4

// M returns the message id with args, at most four, each of a comparable
// type (strings and numbers).
func M(id string, args ...any) Message {
	if len(args) > maxArgs {
		panic("i18n: a message takes at most four arguments")
	}
	m := Message{ID: id, n: len(args)}
	copy(m.args[:], args)
	return m
}

// Args returns the message's arguments.
func (m Message) Args() []any { return m.args[:m.n] }

// IsZero reports whether m is no message, the "no problem" value.
func (m Message) IsZero() bool { return m.ID == "" }

// String returns m in English, "" for the zero message.
func (m Message) String() string {
	if m.IsZero() {
		return ""
	}
	return Embedded().T(Source, m.ID, m.Args()...)
}

// In returns m in lang from c. An argument that is itself a Message is
// translated too, so that a message can quote another one (an API error
// "parameter ip: %s" holding the search's own reason).
func (m Message) In(c *Catalog, lang string) string {
	if m.IsZero() {
		return ""
	}
	return c.T(lang, m.ID, m.Args()...)
}

// Embedded returns the embedded catalogue, loaded once, for the packages
// that need a message's English text and have no catalogue handed to
// them. The embedded files are checked by this package's tests, so a
// failure to load them is a broken build.
var Embedded = sync.OnceValue(func() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
})

// Explained is an error that can say itself to a person: Explain is its
// text by catalogue ID, which the command line and the API translate,
// while Error stays English for logs.
type Explained interface {
	error
	Explain() Message
}

// Explain returns the message of the first error in err's chain that
// explains itself, and whether there is one.
func Explain(err error) (Message, bool) {
	var e Explained
	if errors.As(err, &e) {
		if m := e.Explain(); !m.IsZero() {
			return m, true
		}
	}
	return Message{}, false
}

// InOr says m in lang from c when m is set and c knows it, else english:
// a reason kept both as a message and as its English text (a dead
// letter's, a feed's last error), whose message may be missing (a row
// stored before reasons had messages) or unknown to this build.
func (m Message) InOr(c *Catalog, lang, english string) string {
	if m.IsZero() || !c.Has(m.ID) {
		return english
	}
	return m.In(c, lang)
}

// Replace returns m with replace applied to the text of every string
// argument, those of the messages it quotes too: a collector removes a
// credential from a message this way (the redaction of its text), so
// that neither the stored message nor its rendering in any language
// holds it. The catalogue's own words are not arguments and are left
// as they are.
func (m Message) Replace(replace func(string) string) Message {
	if m.IsZero() {
		return m
	}
	out := m
	for i, a := range m.Args() {
		switch a := a.(type) {
		case string:
			out.args[i] = replace(a)
		case Message:
			out.args[i] = a.Replace(replace)
		case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		default:
			// Said as fmt.Sprint makes it (an error, a Stringer):
			// replaced in that text.
			out.args[i] = replace(fmt.Sprint(a))
		}
	}
	return out
}
