package parser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterParser("cowrie", "Cowrie honeypot JSON log: connections, logins, commands, downloads",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Parser, error) {
			return NewCowrie(env, opts)
		})
}

// Cowrie reads the JSON log of a Cowrie SSH/Telnet honeypot (or anything
// writing Cowrie's format), one object per line. The attacker is always the
// source side (src_ip, src_port); the honeypot is the destination side
// (dst_ip, dst_port), except in a download, where the destination side is
// the server the attacker made the honeypot download from. Every event
// keeps the eventid as classification.identifier and the session and
// sensor in extra.
//
//	eventid                        classification                   adds
//	cowrie.session.connect         information-gathering/scanner    protocol.application (ssh, telnet)
//	cowrie.login.failed            intrusion-attempts/brute-force   extra.username, extra.password
//	cowrie.login.success           intrusion-attempts/brute-force   extra.username, extra.password
//	cowrie.command.input           intrusion-attempts/ids-alert     extra.command
//	cowrie.session.file_download   malicious-code/malware-distribution  destination.url and host, malware.hash.sha256
//	cowrie.session.file_upload     malicious-code/malware-distribution  malware.hash.sha256, extra.filename
//
// A successful login on a honeypot is still only an attempt: nothing real
// was broken into. A command typed into the honeypot is a hit on a sensor,
// hence ids-alert.
//
// Passwords are kept in clear by default: they are what the attacker
// tried, not a secret of the team's constituents, and the lists of tried
// credentials are what CERTs share. The option omit_passwords: true leaves
// extra.password out.
//
// Every other eventid is skipped by design: it either carries no
// observation (cowrie.session.closed, cowrie.log.closed,
// cowrie.client.size, cowrie.client.var, cowrie.session.params) or details
// a session whose connect event is already recorded (cowrie.client.version,
// cowrie.client.kex, cowrie.client.fingerprint, cowrie.direct-tcpip.*,
// cowrie.session.file_download.failed). Skipped lines are counted and the
// counts logged once per input. A line that is not a JSON object, or has
// no eventid or src_ip, is rejected.
type Cowrie struct {
	omitPasswords bool
	logger        *slog.Logger
	text          inputText
}

// cowrieClassification maps the eventids that become events to their
// classification type.
var cowrieClassification = map[string]string{
	"cowrie.session.connect":       "scanner",
	"cowrie.login.failed":          "brute-force",
	"cowrie.login.success":         "brute-force",
	"cowrie.command.input":         "ids-alert",
	"cowrie.session.file_download": "malware-distribution",
	"cowrie.session.file_upload":   "malware-distribution",
}

// cowrieOptions are the parser's options.
type cowrieOptions struct {
	OmitPasswords bool `opt:"omit_passwords"`
	utf8Only
}

// NewCowrie checks the options and builds the parser; env.Logger receives
// the counts of skipped eventids (nil discards them).
func NewCowrie(env pipeline.Env, opts pipeline.Options) (*Cowrie, error) {
	var o cowrieOptions
	text, err := decodeOptions("cowrie", env, opts, &o)
	if err != nil {
		return nil, err
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Cowrie{omitPasswords: o.OmitPasswords, logger: logger, text: text}, nil
}

// Parse implements pipeline.Parser.
func (c *Cowrie) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	skipped := map[string]int{}
	err := eachLine(ctx, in.Body, sink, c.text.forInput(in), func(_ int, line []byte) (*event.Event, error) {
		e, eventid, err := c.event(line)
		if e == nil && err == nil {
			skipped[eventid]++
		}
		return e, err
	})
	if len(skipped) > 0 {
		ids := make([]string, 0, len(skipped))
		for id, n := range skipped {
			ids = append(ids, fmt.Sprintf("%s=%d", id, n))
		}
		sort.Strings(ids)
		c.logger.Info("cowrie events without an observation skipped", "feed", in.Feed, "input", in.Name, "skipped", strings.Join(ids, " "))
	}
	return err
}

// event makes one log line an event; it returns nil and the eventid for a
// line skipped by design.
func (c *Cowrie) event(line []byte) (*event.Event, string, error) {
	obj, err := jsonObject(line)
	if err != nil {
		return nil, "", err
	}
	eventid, err := jsonString(obj, "eventid")
	if err != nil {
		return nil, "", err
	}
	if eventid == "" {
		return nil, "", errors.New("key eventid: missing")
	}
	typ, ok := cowrieClassification[eventid]
	if !ok {
		return nil, eventid, nil
	}
	// text and set keep the first error in err, so the mapping below reads
	// as a list; the line is rejected at the end if anything failed.
	text := func(key string) string {
		v, e := jsonText(obj, key)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	set := func(e *event.Event, field, key string) {
		v := text(key)
		if ferr := e.Set(field, v); ferr != nil && err == nil {
			err = i18n.Wrap(ferr, "parser.reason.key", key)
		}
	}
	extra := func(e *event.Event, name, key string) {
		if ferr := e.SetExtra(name, text(key)); ferr != nil && err == nil {
			err = i18n.Wrap(ferr, "parser.reason.key", key)
		}
	}

	e := event.New(16 + event.PipelineRoom)
	classify(e, typ, eventid)
	if v := text("src_ip"); v == "" && err == nil {
		err = missing("source.ip", i18n.M("parser.reason.empty", "key src_ip"))
	}
	set(e, "source.ip", "src_ip")
	set(e, "source.port", "src_port")
	set(e, "time.source", "timestamp")
	extra(e, "session", "session")
	extra(e, "sensor", "sensor")
	// Cowrie's honeypots speak TCP only (SSH, Telnet).
	e.SetTrusted("protocol.transport", "tcp")

	switch eventid {
	case "cowrie.session.file_download":
		if u := text("url"); u != "" {
			if uerr := setURL(e, "destination", "key url", u); uerr != nil && err == nil {
				err = i18n.Wrap(uerr, "parser.reason.key", "url")
			}
		}
		set(e, "malware.hash.sha256", "shasum")
		if !e.Has("destination.url") && !e.Has("malware.hash.sha256") && err == nil {
			err = missing("destination.url", i18n.M("parser.reason.cowrie.target"))
		}
	default:
		set(e, "destination.ip", "dst_ip")
		set(e, "destination.port", "dst_port")
	}
	switch eventid {
	case "cowrie.session.connect":
		set(e, "protocol.application", "protocol")
	case "cowrie.login.failed", "cowrie.login.success":
		extra(e, "username", "username")
		if !c.omitPasswords {
			extra(e, "password", "password")
		}
	case "cowrie.command.input":
		extra(e, "command", "input")
	case "cowrie.session.file_upload":
		set(e, "malware.hash.sha256", "shasum")
		extra(e, "filename", "filename")
	}
	if err != nil {
		return nil, eventid, err
	}
	return e, eventid, nil
}

var _ pipeline.Parser = (*Cowrie)(nil)
