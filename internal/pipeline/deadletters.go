package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// DeadLetterLimits bound what one input may put into the dead-letter
// store. Junk in, junk out is fine for a few lines; a file of nothing but
// junk (a wrong format, a gzip bomb of garbage) must not become millions
// of letters and a database of gigabytes. Past a limit the rest of the
// input is refused as one letter that says why.
type DeadLetterLimits struct {
	// MaxLetters is how many dead letters one input may write.
	MaxLetters int `yaml:"max_per_input"`
	// MaxBytes is how many bytes of dead letters (input and reason) one
	// input may write.
	MaxBytes int64 `yaml:"max_bytes_per_input"`
}

// DefaultDeadLetterLimits are enough for any real report with some bad
// rows, and small enough that a wrong file costs seconds and megabytes.
func DefaultDeadLetterLimits() DeadLetterLimits {
	return DeadLetterLimits{MaxLetters: 1000, MaxBytes: 16 << 20}
}

const (
	// rejectBatchLetters and rejectBatchBytes bound the rejects a sink
	// holds before writing them: memory stays flat whatever the input.
	rejectBatchLetters = 256
	rejectBatchBytes   = 4 << 20

	// MaxDeadLetterInput is the longest input a dead letter keeps whole.
	// Parsers bound their lines to 1 MiB already; this catches a parser
	// that does not, so one letter cannot fill the byte limit alone.
	MaxDeadLetterInput = 2 << 20
	// deadLetterPrefix is how much of a longer input is kept: enough to
	// recognise it.
	deadLetterPrefix = 4096

	// RefusedParser marks the letter of an input refused after too many
	// dead letters. It cannot be re-run: the input must be delivered again.
	RefusedParser = "pipeline/refused"

	// maxUncounted bounds how much of a refused input is read to count
	// its lines, so a gzip bomb is not unpacked to the end for a number.
	maxUncounted = 1 << 30
)

// ErrInputRefused is returned by a sink's Event, and by reads of the
// input, once the input passed a dead-letter limit: the parser should
// stop.
var ErrInputRefused = errors.New("input refused: too many dead letters")

// LineError is a reject reason tied to one line of the input. The line
// tells the sink where an input was cut off when it is refused.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string  { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error  { return e.Err }
func (e *LineError) InputLine() int { return e.Line }

// Explain says the error in the reader's language: the line, and Err by
// its message when it has one, else in English (i18n.Reason).
func (e *LineError) Explain() i18n.Message {
	return i18n.M("pipeline.reject.line", e.Line, i18n.Reason(e.Err))
}

// inputLiner is a reject reason that knows its line (LineError, a
// Shadowserver RowError).
type inputLiner interface{ InputLine() int }

// refusal is what a sink knows about the input it refused.
type refusal struct {
	line   int          // the line of the reject that passed the limit; 0 when unknown
	read   int64        // lines the runner had read when it refused
	sample []byte       // the start of that reject's input
	why    i18n.Message // which limit, for the letter
}

// shorten returns input, or its first bytes when it is over
// MaxDeadLetterInput, with the reason (in English, msg, and as a message,
// problem, zero when it has none) saying so.
func shorten(input []byte, msg string, problem i18n.Message) ([]byte, string, i18n.Message) {
	if len(input) <= MaxDeadLetterInput {
		return input, msg, problem
	}
	var reason any = msg
	if !problem.IsZero() {
		reason = problem
	}
	problem = i18n.M("pipeline.reject.shortened", reason, len(input), deadLetterPrefix)
	return input[:deadLetterPrefix], problem.String(), problem
}

// admit counts a reject of size bytes against the input's limits. It
// returns false, and marks the input refused, when the reject passes one.
func (s *sink) admit(size int64) bool {
	if s.budget != nil {
		return s.budget.admit(s, size)
	}
	s.refused = s.r.limits.admit(&s.letters, &s.letterBytes, size)
	return s.refused == nil
}

// admit counts a reject of size bytes into letters and bytes, what was
// written so far; it returns the refusal instead when the reject would
// pass a limit.
func (lim DeadLetterLimits) admit(letters *int, bytes *int64, size int64) *refusal {
	switch {
	case *letters+1 > lim.MaxLetters:
		return &refusal{why: i18n.M("pipeline.refused.letters", lim.MaxLetters)}
	case *bytes+size > lim.MaxBytes:
		return &refusal{why: i18n.M("pipeline.refused.bytes", lim.MaxBytes)}
	}
	*letters++
	*bytes += size
	return nil
}

// refusalLetter is the one letter that stands for the rest of a refused
// input, the number of lines it stands for, and its reason as a message
// (the letter's Problem; its Error is the English). total is the number
// of lines of the input, as far as counted; complete says whether it was
// counted to the end.
func (s *sink) refusalLetter(total int64, complete bool) (store.DeadLetter, int64, i18n.Message) {
	rf := s.refused
	from := int64(rf.line)
	if from <= 0 {
		// The parser did not say which line: everything the runner had
		// handed it may have been read, so count from there.
		from = rf.read + 1
	}
	notRead := max(total-from+1, 0)
	count := i18n.M("pipeline.refused.lines", notRead)
	if !complete || rf.line <= 0 {
		count = i18n.M("pipeline.refused.atleast", notRead)
	}
	msg := i18n.M("pipeline.refused", rf.why, from, count)
	return store.DeadLetter{Feed: s.feed.Name, Parser: RefusedParser, Source: s.source, Line: from,
		Input: rf.sample, Error: msg.String(), Problem: msg, Time: s.r.env.Now()}, notRead, msg
}

// refusingReader ends the input for the parser once the sink refused it.
type refusingReader struct {
	r io.Reader
	s *sink
}

func (g *refusingReader) Read(p []byte) (int, error) {
	if g.s.refused != nil {
		return 0, ErrInputRefused
	}
	return g.r.Read(p)
}

// sampleOf is the start of a refused reject's input, for the letter.
func sampleOf(input []byte) []byte {
	return bytes.Clone(input[:min(len(input), deadLetterPrefix)])
}
