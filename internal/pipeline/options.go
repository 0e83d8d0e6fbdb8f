package pipeline

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// Options are a stage's settings from the config file. A stage decodes them
// into its own struct with Decode, which reads each field with the getters
// below; they return a clear error naming the key when a value has the
// wrong type.
type Options map[string]any

// OptionError is an option whose value a module cannot take (a word
// where it wants a number), said in the reader's language (Explain);
// Error says it in English, naming the key. Err is the reason behind it,
// when there is one (time.ParseDuration's).
type OptionError struct {
	Message i18n.Message
	Err     error
}

// OptionProblem is an OptionError saying the message id with args: a
// module's own check of its options (one it needs that is missing,
// values that do not go together) said in the reader's language.
func OptionProblem(id string, args ...any) *OptionError {
	return &OptionError{Message: i18n.M(id, args...)}
}

// FileOptionError is the file at path, named by option key, that cannot
// be read: it does not exist, Vigil may not read it, or the system's
// reason (i18n.FileProblem).
func FileOptionError(key, path string, err error) *OptionError {
	return &OptionError{Message: i18n.M("pipeline.option.reason", key, i18n.FileProblem(path, err)), Err: err}
}

func (e *OptionError) Error() string         { return e.Message.String() }
func (e *OptionError) Unwrap() error         { return e.Err }
func (e *OptionError) Explain() i18n.Message { return e.Message }

// String returns opts[key] as a string, or def when absent.
func (o Options) String(key, def string) (string, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case int, int64, float64, bool:
		return fmt.Sprint(v), nil
	}
	return "", &OptionError{Message: i18n.M("pipeline.option.string", key, fmt.Sprintf("%T", v))}
}

// Int returns opts[key] as an integer, or def when absent.
func (o Options) Int(key string, def int) (int, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case int:
		return v, nil
	case int64:
		return int(v), nil
	case float64:
		if v == float64(int(v)) {
			return int(v), nil
		}
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n, nil
		}
	}
	return 0, &OptionError{Message: i18n.M("pipeline.option.integer", key, fmt.Sprint(v))}
}

// Bool returns opts[key] as a boolean, or def when absent.
func (o Options) Bool(key string, def bool) (bool, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return b, nil
		}
	}
	return false, &OptionError{Message: i18n.M("pipeline.option.bool", key, fmt.Sprint(v))}
}

// Duration returns opts[key] as a duration ("90s", "24h"), or def when absent.
func (o Options) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	if s, ok := v.(string); ok {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, &OptionError{Message: i18n.M("pipeline.option.reason", key, err.Error()), Err: err}
		}
		return d, nil
	}
	return 0, &OptionError{Message: i18n.M("pipeline.option.duration", key, fmt.Sprint(v))}
}

// Strings returns opts[key] as a list of strings, or nil when absent.
func (o Options) Strings(key string) ([]string, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return nil, nil
	}
	switch v := v.(type) {
	case []string:
		return v, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, &OptionError{Message: i18n.M("pipeline.option.string", fmt.Sprintf("%s[%d]", key, i), fmt.Sprintf("%T", x))}
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		return []string{v}, nil
	}
	return nil, &OptionError{Message: i18n.M("pipeline.option.list", key, fmt.Sprintf("%T", v))}
}

// StringMap returns opts[key] as a map of strings (a column mapping, say),
// or nil when absent.
func (o Options) StringMap(key string) (map[string]string, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return nil, nil
	}
	if nested, ok := v.(Options); ok {
		// A mapping in the configuration file: yaml.v3 decodes a mapping
		// inside Options as Options, the type it decodes into.
		v = map[string]any(nested)
	}
	out := map[string]string{}
	switch v := v.(type) {
	case map[string]string:
		return v, nil
	case map[string]any:
		for k, x := range v {
			switch x := x.(type) {
			case string:
				out[k] = x
			case int, float64, bool:
				out[k] = fmt.Sprint(x)
			default:
				return nil, &OptionError{Message: i18n.M("pipeline.option.string", key+"."+k, fmt.Sprintf("%T", x))}
			}
		}
		return out, nil
	}
	return nil, &OptionError{Message: i18n.M("pipeline.option.mapping", key, fmt.Sprintf("%T", v))}
}

// Unknown returns the keys of opts that are not in known, sorted, so a
// factory can refuse a misspelt option.
func (o Options) Unknown(known ...string) []string {
	var bad []string
	for k := range o {
		found := false
		for _, n := range known {
			if k == n {
				found = true
				break
			}
		}
		if !found {
			bad = append(bad, k)
		}
	}
	sort.Strings(bad)
	return bad
}

// Choice returns opts[key], which must be one of allowed, or def when
// absent.
func (o Options) Choice(key, def string, allowed ...string) (string, error) {
	v, err := o.String(key, def)
	if err != nil {
		return "", err
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", &OptionError{Message: i18n.M("pipeline.option.choice", key, strings.Join(allowed, ", "), v)}
}

// TextOptions are the options about the text of a feed's input that every
// parser takes, decoded once when the parser is built.
type TextOptions struct {
	// ReplaceInvalidUTF8 reads bytes that are not UTF-8 as U+FFFD, counted
	// and logged, instead of refusing the line (invalid_utf8: replace).
	ReplaceInvalidUTF8 bool
	// EpochSeconds reads a bare number in a date-time field as seconds
	// since 1970 (epoch_seconds: true); only parsers whose feeds may send
	// such numbers take it.
	EpochSeconds bool
}

// TextOptions reads invalid_utf8 (reject, the default, or replace) and
// epoch_seconds (default false), leaving the other keys alone. Parsers
// decode the same options by embedding UTF8Option and EpochOption in their
// options struct.
func (o Options) TextOptions() (TextOptions, error) {
	var t TextOptions
	mode, err := o.Choice("invalid_utf8", "reject", "reject", "replace")
	if err != nil {
		return t, err
	}
	t.ReplaceInvalidUTF8 = mode == "replace"
	if t.EpochSeconds, err = o.Bool("epoch_seconds", false); err != nil {
		return t, err
	}
	return t, nil
}

// Interface guards.
var (
	_ i18n.Explained = (*OptionError)(nil)
	_ i18n.Explained = (*UnknownOptionsError)(nil)
)
