package i18n

// Errors said by a message. A parser's reason for refusing a line is
// built in layers ("line 3: " around "column ip: " around the field's
// own reason), each with fmt.Errorf until now, which keeps only English.
// Error is such a layer that keeps its message too: its Error is the
// message's English, exactly what fmt.Errorf would have written, and its
// Explain the sentence in any language, quoting the layer below by its
// message when that one has one (Reason) and by its English text when it
// has none. So a reason is said as far as it can be, and never loses a
// word: the text of an error that has no message is quoted as it is.

// Error is an error said by Message; Err is the error it wraps, if any.
type Error struct {
	Message Message
	Err     error
}

// NewError returns the error that says the message id with args.
func NewError(id string, args ...any) *Error { return &Error{Message: M(id, args...)} }

// Wrap returns err inside the sentence id, whose last argument, after
// args (at most three), is err's reason (see Reason).
func Wrap(err error, id string, args ...any) *Error {
	return &Error{Message: M(id, append(args[:len(args):len(args)], Reason(err))...), Err: err}
}

func (e *Error) Error() string    { return e.Message.String() }
func (e *Error) Explain() Message { return e.Message }
func (e *Error) Unwrap() error    { return e.Err }

// Reason is err as the argument of a message that quotes it: the
// message err says itself (Said), else its English text, shown as it
// is.
func Reason(err error) any {
	if m, ok := Said(err); ok {
		return m
	}
	return err.Error()
}

// Said returns the message that err itself says, if it says one: an
// Explained's, or that of an error with a Message method (a field's
// refusal, event.FieldError). Unlike Explain it does not look down err's
// chain: a message found there would leave out what the errors above it
// add (a line number, a column), so an error that wraps one without a
// message of its own is said in English, whole.
func Said(err error) (Message, bool) {
	var m Message
	switch e := err.(type) {
	case Explained:
		m = e.Explain()
	case interface{ Message() Message }:
		m = e.Message()
	}
	return m, !m.IsZero()
}

var _ Explained = (*Error)(nil)
