package parser

import (
	"bytes"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// inputText is how a parser treats the text of its input: a feed's
// invalid_utf8 and epoch_seconds options, and where a replacement is
// logged. The zero value refuses bad text and numeric times.
type inputText struct {
	options pipeline.TextOptions
	logger  *slog.Logger
}

// newInputText reads the text options of a parser's options; rejectUnknown
// has refused epoch_seconds already for parsers whose feeds write their
// times out.
func newInputText(id string, env pipeline.Env, opts pipeline.Options) (inputText, error) {
	o, err := opts.TextOptions()
	if err != nil {
		return inputText{}, fmt.Errorf("parser %s: %w", id, err)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return inputText{options: o, logger: logger}, nil
}

// rules are the event package's side of the options.
func (t inputText) rules() event.InputRules {
	return event.InputRules{EpochSeconds: t.options.EpochSeconds}
}

// forInput starts the count of replacements for one input.
func (t inputText) forInput(in pipeline.Input) *textTally {
	return &textTally{text: t, feed: in.Feed, input: in.Name}
}

// textTally checks the lines of one input and counts what it replaced.
type textTally struct {
	text          inputText
	feed, input   string
	replacedBytes int
	replacedLines int
}

// check returns line with invalid UTF-8 replaced when the feed asks for
// that, and why the (replaced) line still cannot be stored as text, or ""
// when it can. Most lines are clean and cost two fast scans.
func (t *textTally) check(line []byte) ([]byte, string) {
	if utf8.Valid(line) && bytes.IndexByte(line, 0) < 0 {
		return line, ""
	}
	if t != nil && t.text.options.ReplaceInvalidUTF8 {
		var n int
		line, n = event.ReplaceInvalidUTF8(line)
		if n > 0 {
			t.replacedBytes += n
			t.replacedLines++
		}
	}
	return line, event.TextProblem(string(line))
}

// report logs and counts the replacements of the input, if any: a feed
// read with invalid_utf8: replace stays visible.
func (t *textTally) report(sink pipeline.Sink) {
	if t == nil || t.replacedBytes == 0 {
		return
	}
	t.text.logger.Warn("input had invalid UTF-8, read as U+FFFD (invalid_utf8: replace)",
		"feed", t.feed, "input", t.input, "lines", t.replacedLines, "bytes", t.replacedBytes)
	pipeline.CountInvalidUTF8(sink, t.replacedBytes)
}
