package parser

import (
	"bytes"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// inputText is how a parser treats the text of its input: a feed's
// invalid_utf8 and epoch_seconds options, and where a replacement is
// logged. The zero value refuses bad text and numeric times.
type inputText struct {
	options pipeline.TextOptions
	logger  *slog.Logger
}

// textOptioner is a parser's options struct, which embeds utf8Only or
// utf8AndEpoch: the text options it takes.
type textOptioner interface {
	textOptions() pipeline.TextOptions
}

// utf8Only are the text options of parsers whose feeds write their times
// out: invalid_utf8 alone.
type utf8Only struct {
	pipeline.UTF8Option
}

func (u utf8Only) textOptions() pipeline.TextOptions { return u.Text(pipeline.EpochOption{}) }

// utf8AndEpoch are the text options of parsers whose feeds may send a
// date-time as seconds since 1970: epoch_seconds and invalid_utf8.
type utf8AndEpoch struct {
	pipeline.EpochOption
	pipeline.UTF8Option
}

func (u utf8AndEpoch) textOptions() pipeline.TextOptions { return u.Text(u.EpochOption) }

// decodeOptions decodes a parser's options into dst and returns how the
// parser treats the text of its input. A misspelt option fails at
// start-up rather than being ignored; the error lists the options the
// parser knows.
func decodeOptions(id string, env pipeline.Env, opts pipeline.Options, dst textOptioner) (inputText, error) {
	if err := opts.Decode(dst); err != nil {
		return inputText{}, fmt.Errorf("parser %s: %w", id, err)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return inputText{options: dst.textOptions(), logger: logger}, nil
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
func (t *textTally) check(line []byte) ([]byte, i18n.Message) {
	if utf8.Valid(line) && bytes.IndexByte(line, 0) < 0 {
		return line, i18n.Message{}
	}
	if t != nil && t.text.options.ReplaceInvalidUTF8 {
		var n int
		line, n = event.ReplaceInvalidUTF8(line)
		if n > 0 {
			t.replacedBytes += n
			t.replacedLines++
		}
	}
	return line, event.TextDamage(string(line))
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
