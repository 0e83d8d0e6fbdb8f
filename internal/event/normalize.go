package event

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/taxonomy"
	"github.com/vigil-cert/vigil/internal/tlp"
)

// FieldError says why a value was refused for a field.
type FieldError struct {
	Field string
	Value string
	// Reason is why, in English: the log's and the dead letter's.
	Reason string
	// Problem is Reason by catalogue ID, for a reader of another
	// language; zero for a reason that has none, said as it is.
	Problem i18n.Message
}

// newFieldError is the refusal of value for the field name, for the
// reason problem.
func newFieldError(name, value string, problem *i18n.Message) *FieldError {
	return &FieldError{Field: name, Value: value, Reason: problem.String(), Problem: *problem}
}

// problem is the refusal of value for the field name, for the reason
// the message id with args says.
func problem(name, value, id string, args ...any) *FieldError {
	m := i18n.M(id, args...)
	return newFieldError(name, value, &m)
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("field %s: %s (value %q)", e.Field, e.Reason, e.shortValue())
}

// Message is the error as a message in the catalogue: the same sentence
// as Error, said in the reader's language. (FieldError is not an
// i18n.Explained: an error that wraps one, such as a parser's saying
// which line, would be said as this alone.)
func (e *FieldError) Message() i18n.Message {
	return i18n.M("event.field.error", e.Field, e.ReasonMessage(), e.shortValue())
}

// ReasonMessage is the reason, in the reader's language when it has a
// message: a Message, else the English text.
func (e *FieldError) ReasonMessage() any {
	if e.Problem.IsZero() {
		return e.Reason
	}
	return e.Problem
}

// shortValue is the value as the error quotes it, cut at 80 bytes.
func (e *FieldError) shortValue() string {
	if len(e.Value) > 80 {
		return e.Value[:77] + "..."
	}
	return e.Value
}

// ErrUnknownField is wrapped by the error for a name that is not harmonized.
var ErrUnknownField = errors.New("not a harmonized field name")

// TimeLayout is how date-times are written: UTC, RFC 3339, the way IntelMQ
// writes them (Python's isoformat with +00:00).
const TimeLayout = "2006-01-02T15:04:05.999999"

// FormatTime writes t as a harmonized date-time.
func FormatTime(t time.Time) string {
	return t.UTC().Format(TimeLayout) + "+00:00"
}

// acceptedTimeLayouts are tried in order for date-times without a known form.
var acceptedTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02T15:04:05.999999999-07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
	time.RFC1123Z,
	time.RFC1123,
	"02/Jan/2006:15:04:05 -0700",
}

// ErrNumericTime is wrapped by the error for a date-time given as a bare
// number. Whether 5 means 1970-01-01T00:00:05 or garbage only the feed can
// say, so feed values are refused unless the feed's parser has the option
// epoch_seconds: true.
var ErrNumericTime error = timeProblem("event.reason.time.numeric")

// Why ParseFeedTime and ParseEpochSeconds refuse a value.
var (
	errEmptyTime    error = timeProblem("event.reason.time.empty")
	errYearRange    error = timeProblem("event.reason.time.year")
	errUnknownTime  error = timeProblem("event.reason.time")
	errEpochSeconds error = timeProblem("event.reason.time.epoch")
)

// timeProblem is a date-time refused, by the catalogue ID of the reason
// (the FieldError that quotes it says it in the reader's language).
type timeProblem string

func (p timeProblem) Error() string { return i18n.M(string(p)).String() }

// ParseTime reads a date-time in any of the forms feeds use; a value without
// a zone is UTC, and a bare number is seconds since the Unix epoch. It is
// for Vigil's own values and searches; values from a feed go through
// ParseFeedTime, which does not guess that a number is a time.
func ParseTime(s string) (time.Time, error) {
	if t, ok := parseEpochSeconds(strings.TrimSpace(s)); ok {
		return t, nil
	}
	return ParseFeedTime(s)
}

// ParseFeedTime is ParseTime without the bare number: a date-time written
// out, as every feed that does not declare epoch seconds must send it. A
// number is refused with an error wrapping ErrNumericTime.
func ParseFeedTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errEmptyTime
	}
	if isBareNumber(s) {
		return time.Time{}, ErrNumericTime
	}
	if t, ok := ParseCommonTime(s); ok {
		return t, nil
	}
	for _, layout := range acceptedTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1970 || t.Year() > 9999 {
				return time.Time{}, errYearRange
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, errUnknownTime
}

// ParseEpochSeconds reads seconds since 1970-01-01 UTC, with an optional
// fraction, as feeds with epoch_seconds: true send their times.
func ParseEpochSeconds(s string) (time.Time, error) {
	t, ok := parseEpochSeconds(strings.TrimSpace(s))
	if !ok {
		return time.Time{}, errEpochSeconds
	}
	return t, nil
}

// isBareNumber reports whether s looks like a number rather than a
// written date-time: digits with at most a sign, a point and an exponent.
func isBareNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return false
		}
		if (c == '-' || c == '+') && s[i-1] != 'e' && s[i-1] != 'E' {
			return false
		}
	}
	return true
}

func parseEpochSeconds(s string) (time.Time, bool) {
	if !isBareNumber(s) {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= 0 && f < 1e11) {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// ParseCommonTime reads the forms most date-times are in, the canonical
// one (FormatTime's, whole seconds) among them, without trying layout
// after layout with time.Parse: YYYY-MM-DD hh:mm:ss with a T or a space
// between, then nothing, Z or +00:00, in UTC. ok is false for anything
// else (which ParseTime may still read).
func ParseCommonTime(s string) (time.Time, bool) {
	switch {
	case len(s) == 19:
	case len(s) == 20 && s[19] == 'Z':
	case len(s) == 25 && s[19:] == "+00:00":
	default:
		return time.Time{}, false
	}
	if s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) int {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, mo, d, h, mi, se := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
	if y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC)
	if t.Day() != d { // 2026-02-30 and the like: let the slow path refuse it
		return time.Time{}, false
	}
	return t, true
}

// InputRules are the differences between feeds that decide how a value
// is read. The zero value is the strict default.
type InputRules struct {
	// EpochSeconds reads a bare number in a date-time field as seconds
	// since 1970-01-01 UTC; without it such a value is refused.
	EpochSeconds bool
}

// Normalize validates value for the named field and returns its canonical
// form. An unknown field name is an error wrapping ErrUnknownField.
func Normalize(name, value string) (string, error) {
	return NormalizeWith(InputRules{}, name, value)
}

// NormalizeWith is Normalize under a feed's rules.
func NormalizeWith(rules InputRules, name, value string) (string, error) {
	kind, ok := KindOf(name)
	if !ok {
		return "", newFieldError(name, value, refuse("event.reason.unknownfield"))
	}
	if kind == KindDateTime && rules.EpochSeconds && isBareNumber(strings.TrimSpace(value)) {
		t, err := ParseEpochSeconds(value)
		if err != nil {
			return "", newFieldError(name, value, refusal(err))
		}
		return FormatTime(t), nil
	}
	v, problem := normalizeKind(kind, value)
	if problem != nil {
		return "", newFieldError(name, value, problem)
	}
	return v, nil
}

// refuse is the reason a value is refused, by catalogue ID, for the
// FieldError that says it. It is made only when a value is refused: the
// accepted value's path returns nil.
func refuse(id string, args ...any) *i18n.Message {
	m := i18n.M(id, args...)
	return &m
}

// refusal is err, an error of ParseFeedTime or ParseEpochSeconds, as a
// reason: its message when it has one, else its text.
func refusal(err error) *i18n.Message {
	if p, ok := err.(timeProblem); ok {
		return refuse(string(p))
	}
	return refuse("event.reason.text", err.Error())
}

func normalizeKind(kind Kind, value string) (string, *i18n.Message) {
	if p := textProblem(value); p != nil {
		return "", p
	}
	switch kind {
	case KindString:
		return value, nil
	case KindLowercase:
		return lower(value), nil
	case KindUppercase:
		return strings.ToUpper(value), nil
	case KindFQDN:
		return normalizeFQDN(value)
	case KindIP:
		a, err := netip.ParseAddr(strings.TrimSpace(value))
		if err != nil || a.Zone() != "" {
			return "", refuse("event.reason.ip")
		}
		return a.Unmap().String(), nil
	case KindNetwork:
		return normalizeNetwork(value)
	case KindURL:
		return normalizeURL(value)
	case KindDateTime:
		t, err := ParseFeedTime(value)
		if err != nil {
			return "", refusal(err)
		}
		return FormatTime(t), nil
	case KindInteger, KindPort, KindASN, KindFloat, KindAccuracy, KindBoolean:
		return normalizeNumber(kind, value)
	case KindBase64:
		if _, err := base64.StdEncoding.DecodeString(value); err != nil {
			return "", refuse("event.reason.base64")
		}
		return value, nil
	case KindTaxonomy, KindType, KindCountry, KindRegistry:
		return normalizeCode(kind, value)
	case KindTLP:
		return normalizeTLP(value)
	case KindJSON:
		if !json.Valid([]byte(value)) {
			return "", refuse("event.reason.json")
		}
		if p := jsonTextProblem([]byte(value)); p != nil {
			return "", p
		}
		return value, nil
	}
	return "", refuse("event.reason.kind")
}

// normalizeNumber is normalizeKind for the kinds written as numbers (and
// the boolean), whose value is read with spaces around it trimmed.
func normalizeNumber(kind Kind, value string) (string, *i18n.Message) {
	switch kind {
	case KindInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return "", refuse("event.reason.integer")
		}
		return strconv.FormatInt(n, 10), nil
	case KindPort:
		n, err := strconv.ParseUint(strings.TrimSpace(value), 10, 16)
		if err != nil {
			return "", refuse("event.reason.port")
		}
		return strconv.FormatUint(n, 10), nil
	case KindASN:
		v := strings.TrimSpace(value)
		if len(v) > 2 && (v[0] == 'A' || v[0] == 'a') && (v[1] == 'S' || v[1] == 's') {
			v = v[2:]
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return "", refuse("event.reason.asn")
		}
		return strconv.FormatUint(n, 10), nil
	case KindFloat, KindAccuracy:
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "", refuse("event.reason.number")
		}
		if kind == KindAccuracy && (f < 0 || f > 100) {
			return "", refuse("event.reason.accuracy")
		}
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	case KindBoolean:
		switch lower(strings.TrimSpace(value)) {
		case "true", "1", "yes", "y", "t":
			return "true", nil
		case "false", "0", "no", "n", "f":
			return "false", nil
		}
		return "", refuse("event.reason.boolean")
	}
	return "", refuse("event.reason.kind")
}

// normalizeCode is normalizeKind for the kinds whose value is one of a
// known set of codes: the RSIT taxonomy and type, a country, a registry.
func normalizeCode(kind Kind, value string) (string, *i18n.Message) {
	switch kind {
	case KindTaxonomy:
		v := lower(strings.TrimSpace(value))
		if !taxonomy.ValidTaxonomy(v) {
			return "", refuse("event.reason.taxonomy")
		}
		return v, nil
	case KindType:
		v := lower(strings.TrimSpace(value))
		if !taxonomy.ValidType(v) {
			return "", refuse("event.reason.type")
		}
		return v, nil
	case KindCountry:
		v := strings.ToUpper(strings.TrimSpace(value))
		if len(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z' {
			return "", refuse("event.reason.country")
		}
		return v, nil
	case KindRegistry:
		v := strings.ToUpper(strings.TrimSpace(value))
		if v == "RIPE NCC" {
			v = "RIPE"
		}
		switch v {
		case "AFRINIC", "APNIC", "ARIN", "LACNIC", "RIPE":
			return v, nil
		}
		return "", refuse("event.reason.registry")
	}
	return "", refuse("event.reason.kind")
}

func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf {
			return strings.ToLower(s)
		}
	}
	return s
}

// TLP labels of TLP 2.0; TLP 1.0's WHITE is read as CLEAR.
func normalizeTLP(value string) (string, *i18n.Message) {
	if l, ok := tlp.Parse(value); ok {
		return string(l), nil
	}
	return "", refuse("event.reason.tlp", tlp.Names())
}

var fqdnProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false))

func normalizeFQDN(value string) (string, *i18n.Message) {
	v := strings.TrimSuffix(strings.TrimSpace(value), ".")
	if v == "" {
		return "", refuse("event.reason.host.empty")
	}
	ascii := true
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		a, err := fqdnProfile.ToASCII(v)
		if err != nil {
			return "", refuse("event.reason.host.idna")
		}
		v = a
	}
	v = lower(v)
	if len(v) > 253 {
		return "", refuse("event.reason.host.long")
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return "", refuse("event.reason.host.ip")
	}
	labels := 0
	start := 0
	for i := 0; i <= len(v); i++ {
		if i < len(v) && v[i] != '.' {
			c := v[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*') {
				return "", refuse("event.reason.host.character", c)
			}
			continue
		}
		if i == start || i-start > 63 {
			return "", refuse("event.reason.host.label")
		}
		labels++
		start = i + 1
	}
	return v, nil
}

func normalizeNetwork(value string) (string, *i18n.Message) {
	v := strings.TrimSpace(value)
	if !strings.Contains(v, "/") {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return "", refuse("event.reason.network")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()).String(), nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return "", refuse("event.reason.network")
	}
	if p.Addr().Is4In6() {
		bits := p.Bits() - 96
		if bits < 0 {
			return "", refuse("event.reason.network")
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), bits)
	}
	return p.Masked().String(), nil
}

// defang undoes the usual ways feeds make URLs unclickable.
var defang = strings.NewReplacer("hxxps://", "https://", "hxxp://", "http://", "[.]", ".", "[:]", ":", "[://]", "://")

func normalizeURL(value string) (string, *i18n.Message) {
	v := strings.TrimSpace(value)
	if strings.ContainsAny(v, "[h") {
		v = defang.Replace(v)
	}
	if v == "" {
		return "", refuse("event.reason.url.empty")
	}
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", refuse("event.reason.url")
	}
	if u.Scheme == "" || u.Host == "" {
		return "", refuse("event.reason.url.parts")
	}
	if strings.ContainsAny(u.Host, " \t") {
		return "", refuse("event.reason.url.spaces")
	}
	u.Scheme = lower(u.Scheme)
	u.Host = lower(u.Host)
	return u.String(), nil
}

// SortsAsTime reports whether v has the shape of FormatTime's output,
// "2006-01-02T15:04:05[.fraction]+00:00" with a four-digit year:
// fixed-width digits in the same zone, so text order is time order (a
// fraction's '.' sorts after the '+' of a value without one).
func SortsAsTime(v string) bool {
	const zone = "+00:00"
	if len(v) < 19+len(zone) || v[len(v)-len(zone):] != zone {
		return false
	}
	for i := range 19 {
		c := v[i]
		switch i {
		case 4, 7:
			if c != '-' {
				return false
			}
		case 10:
			if c != 'T' {
				return false
			}
		case 13, 16:
			if c != ':' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	rest := v[19 : len(v)-len(zone)]
	if rest == "" {
		return true
	}
	if rest[0] != '.' || len(rest) == 1 {
		return false
	}
	for i := 1; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}

// NewFieldError is the refusal of value for the field name, for the
// reason problem: a parser's own check (a value it needs is missing).
func NewFieldError(name, value string, problem i18n.Message) *FieldError {
	return newFieldError(name, value, &problem)
}
