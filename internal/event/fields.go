package event

import "strings"

// Kind is the harmonized data type of a field; it decides how a value is
// validated, normalized and written to JSON.
type Kind uint8

// The harmonized kinds, after IntelMQ's harmonization types.
const (
	KindString    Kind = iota + 1 // any non-empty text
	KindLowercase                 // text, lower-cased
	KindUppercase                 // text, upper-cased
	KindFQDN                      // host name, lower-case, no trailing dot, IDNA ASCII
	KindIP                        // IPv4 or IPv6 address, canonical form
	KindNetwork                   // CIDR prefix, masked
	KindURL                       // absolute URL with a host
	KindDateTime                  // instant, written as UTC RFC 3339
	KindInteger                   // signed integer
	KindPort                      // 0..65535
	KindASN                       // autonomous system number 1..4294967295
	KindFloat                     // decimal number
	KindAccuracy                  // 0..100
	KindBoolean                   // true or false
	KindBase64                    // base64 text (raw)
	KindTaxonomy                  // classification.taxonomy (RSIT)
	KindType                      // classification.type (RSIT + IntelMQ)
	KindTLP                       // TLP 2.0 label
	KindCountry                   // ISO 3166-1 alpha-2, upper-case
	KindRegistry                  // regional internet registry
	KindJSON                      // any JSON value (extra.*)
)

// String names the kind as the documentation and error messages do.
func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindLowercase:
		return "lowercase string"
	case KindUppercase:
		return "uppercase string"
	case KindFQDN:
		return "FQDN"
	case KindIP:
		return "IP address"
	case KindNetwork:
		return "IP network"
	case KindURL:
		return "URL"
	case KindDateTime:
		return "date-time"
	case KindInteger:
		return "integer"
	case KindPort:
		return "port"
	case KindASN:
		return "ASN"
	case KindFloat:
		return "float"
	case KindAccuracy:
		return "accuracy"
	case KindBoolean:
		return "boolean"
	case KindBase64:
		return "base64"
	case KindTaxonomy:
		return "classification taxonomy"
	case KindType:
		return "classification type"
	case KindTLP:
		return "TLP"
	case KindCountry:
		return "country code"
	case KindRegistry:
		return "registry"
	case KindJSON:
		return "JSON"
	}
	return "unknown"
}

// numeric reports whether values of the kind are written as JSON numbers.
func (k Kind) numeric() bool {
	switch k {
	case KindInteger, KindPort, KindASN, KindFloat, KindAccuracy:
		return true
	}
	return false
}

// identityFields are the per-side fields shared by source.* and destination.*.
var identityFields = map[string]Kind{
	"abuse_contact":         KindLowercase,
	"account":               KindString,
	"allocated":             KindDateTime,
	"as_name":               KindString,
	"asn":                   KindASN,
	"domain_suffix":         KindFQDN,
	"fqdn":                  KindFQDN,
	"geolocation.cc":        KindCountry,
	"geolocation.city":      KindString,
	"geolocation.country":   KindString,
	"geolocation.cc_city":   KindString,
	"geolocation.latitude":  KindFloat,
	"geolocation.longitude": KindFloat,
	"geolocation.region":    KindString,
	"geolocation.state":     KindString,
	"ip":                    KindIP,
	"local_hostname":        KindString,
	"local_ip":              KindIP,
	"network":               KindNetwork,
	"port":                  KindPort,
	"registry":              KindRegistry,
	"reverse_dns":           KindFQDN,
	"tor_node":              KindBoolean,
	"url":                   KindURL,
	"urlpath":               KindString,
}

// Fields maps every harmonized field name (except extra.*) to its kind.
var Fields = func() map[string]Kind {
	m := map[string]Kind{
		"classification.identifier": KindString,
		"classification.taxonomy":   KindTaxonomy,
		"classification.type":       KindType,
		"comment":                   KindString,
		"event_description.target":  KindString,
		"event_description.text":    KindString,
		"event_description.url":     KindURL,
		"event_hash":                KindUppercase,
		"feed.accuracy":             KindAccuracy,
		"feed.code":                 KindString,
		"feed.documentation":        KindString,
		"feed.name":                 KindString,
		"feed.provider":             KindString,
		"feed.url":                  KindURL,
		"malware.hash.md5":          KindLowercase,
		"malware.hash.sha1":         KindLowercase,
		"malware.hash.sha256":       KindLowercase,
		"malware.name":              KindLowercase,
		"malware.version":           KindString,
		"misp.attribute_uuid":       KindLowercase,
		"misp.event_uuid":           KindLowercase,
		"protocol.application":      KindLowercase,
		"protocol.transport":        KindLowercase,
		"raw":                       KindBase64,
		"rtir_id":                   KindInteger,
		"screenshot_url":            KindURL,
		"status":                    KindString,
		"time.observation":          KindDateTime,
		"time.source":               KindDateTime,
		"tlp":                       KindTLP,
	}
	for name, kind := range identityFields {
		m["source."+name] = kind
		m["destination."+name] = kind
	}
	return m
}()

// KindOf returns the kind of a field name; every extra.* name is JSON.
func KindOf(name string) (Kind, bool) {
	if k, ok := Fields[name]; ok {
		return k, true
	}
	if IsExtra(name) {
		return KindJSON, true
	}
	return 0, false
}

// IsExtra reports whether name is a free-form extra.* field.
func IsExtra(name string) bool {
	return len(name) > len("extra.") && strings.HasPrefix(name, "extra.")
}
