package shadowserver

import "testing"

func TestExtractCVEFromTag(t *testing.T) {
	cases := []struct {
		tag  string
		want string
		kind valueKind
	}{
		{"cve-2021-44228;log4j", "cve-2021-44228", valueString},
		{"affected-software;cve-2024-56789;cve-2023-12345;ssl;vpn", "cve-2023-12345;cve-2024-56789", valueString},
		{"cve-2023-12345;cve-2023-12345", "cve-2023-12345", valueString},
		{"cve-2023-12345", "cve-2023-12345", valueString},
		// Only whole lower-case tags count, as in IntelMQ.
		{"CVE-2021-44228;log4j", "", valueNone},
		{"cve-2021;cve-2021-;cve--1;cve-2021-44228x;xcve-2021-44228", "", valueNone},
		{"log4j;http", "", valueNone},
		{"", "", valueNone},
	}
	for _, c := range cases {
		got, kind, err := extractCVEFromTag(c.tag, nil)
		if err != nil {
			t.Fatalf("%q: %v", c.tag, err)
		}
		if got != c.want || kind != c.kind {
			t.Errorf("%q: got %q (kind %d), want %q (kind %d)", c.tag, got, kind, c.want, c.kind)
		}
	}
}

func TestExtractCVEFromTagIsRegistered(t *testing.T) {
	c, ok := converters["extract_cve_from_tag"]
	if !ok || c.name != "extract_cve_from_tag" || c.withRow {
		t.Fatalf("extract_cve_from_tag is not registered as a plain converter: %+v", c)
	}
}
