package parser

import (
	"bytes"
	"context"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterParser("intelmq", "IntelMQ JSON lines, as IntelMQ's file output writes them",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Parser, error) {
			text, err := decodeOptions("intelmq", env, opts, &utf8AndEpoch{})
			if err != nil {
				return nil, err
			}
			return IntelMQ{text: text}, nil
		})
}

// IntelMQ reads events exchanged with IntelMQ installations: one JSON
// object per line, flat ("source.ip") or nested ({"source": {"ip": …}}).
// Events import unchanged, including their own raw, feed.* and
// time.observation; an event without classification.type gets
// "undetermined", the type IntelMQ itself uses for that case. A line with
// any invalid or unknown field is rejected whole rather than imported in
// part.
//
// IntelMQ writes time.source and time.observation as strings; a number
// there is refused unless the option epoch_seconds: true says the sender
// means seconds since 1970. invalid_utf8: replace reads bytes that are not
// UTF-8 as U+FFFD instead of refusing the line.
type IntelMQ struct{ text inputText }

// Parse implements pipeline.Parser.
func (p IntelMQ) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	rules := p.text.rules()
	return eachLine(ctx, in.Body, sink, p.text.forInput(in), func(_ int, line []byte) (*event.Event, error) {
		if t := bytes.TrimSpace(line); t[0] != '{' {
			return nil, i18n.NewError("parser.reason.json.start", t[0])
		}
		e := event.New(24 + event.PipelineRoom)
		if err := e.ParseJSONWith(rules, line); err != nil {
			return nil, err
		}
		if !e.Has("classification.type") {
			e.SetTrusted("classification.type", "undetermined")
		}
		return e, nil
	})
}

var _ pipeline.Parser = IntelMQ{}
