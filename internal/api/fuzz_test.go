package api

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication/products"
)

// FuzzParseEventSearch feeds arbitrary query strings to the GET /events
// parser: it must never panic, and every refusal must be a 400 that names
// a parameter.
func FuzzParseEventSearch(f *testing.F) {
	for _, seed := range []string{
		"ip=192.0.2.1&cidr=192.0.2.0/24&asn=AS64500&fqdn=example.be",
		"url=hxxp://x[.]test/a&hash=" + "ab" + "cd" + "&taxonomy=fraud&type=phishing",
		"feed=x&tlp=amber&from=2024-05-01&to=2024-05-02T00:00:00Z&limit=10",
		"format=csv&columns=all&limit=5",
		"format=csv&columns=source.ip,,hash",
		"cursor=AAAAAAAAAAAAAAAAAAAAAA&format=jsonl",
		"ip=%zz", "x=1&x=2", "limit=-1", "from=99999999999",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		values, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		s, err := parseEventSearch(values)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Parameter == "" {
				t.Fatalf("query %q: error %#v, want a 400 naming the parameter", query, err)
			}
			return
		}
		if s.format == formatJSON && (s.query.Limit < 1 || s.query.Limit > maxPageSize) {
			t.Fatalf("query %q: page size %d", query, s.query.Limit)
		}
		if s.query.Prefix.IsValid() && s.query.Prefix != s.query.Prefix.Masked() {
			t.Fatalf("query %q: prefix %s not masked", query, s.query.Prefix)
		}
	})
}

// FuzzDecodeRetryBody feeds arbitrary bodies to the JSON body decoder of
// POST /deadletters/retry: it must never panic, and refuse with an *Error.
func FuzzDecodeRetryBody(f *testing.F) {
	for _, seed := range []string{`{"ids":[1,2]}`, `{"ids":"1"}`, `{"x":1}`, `[]`, `{"ids":[1]}{}`, ``, `{"ids":[1e99]}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r, _ := http.NewRequest("POST", "/deadletters/retry", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var req retryRequest
		if err := decodeBody(r, &req); err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status/100 != 4 {
				t.Fatalf("body %q: error %#v, want a 4xx *Error", body, err)
			}
		}
	})
}

// FuzzProductsFile feeds arbitrary bodies to the products' replace as it
// reads them (products.ReadFile, then productsRefusal): it must never
// panic, and every refusal must be a 400 that names the field at fault.
func FuzzProductsFile(f *testing.F) {
	for _, seed := range []string{
		`[{"cpe":"cpe:2.3:a:apache:http_server:2.4.58:*:*:*:*:*:*:*"},{"purl":"pkg:npm/left-pad@1.3.0"}]`,
		`[{"cpe":"cpe:2.3:a:apache"}]`, `[{"purl":"pkg:"}]`, `[{"vendor":"x"}]`, `[1]`, `{"product":"x"}`,
		"product,version\nMoodle,4.1\n", "colour\nred\n", "cpe\ncpe:2.3:h:*:*:*:*:*:*:*:*:*:*\n", "\"unterminated\n", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		_, err := products.ReadFile(strings.NewReader(body), "fuzz")
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(productsRefusal(err), &e) || e.Status != http.StatusBadRequest || e.Parameter == "" {
			t.Fatalf("body %q: error %#v, want a 400 naming the field", body, err)
		}
	})
}
