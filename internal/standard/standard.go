// Package standard links in Vigil's built-in pipeline modules: importing it
// registers every collector, parser, enricher and output by ID.
package standard

import (
	_ "github.com/vigil-cert/vigil/internal/collector"    // inbox, http, shadowserver_api
	_ "github.com/vigil-cert/vigil/internal/enricher"     // dedup, taxonomy, asn, geoip, url, rdns, constituency
	_ "github.com/vigil-cert/vigil/internal/output"       // store, jsonl, webhook
	_ "github.com/vigil-cert/vigil/internal/parser"       // csv, intelmq, urlhaus, feodo, spamhaus-drop, phishtank, openphish, list, cowrie
	_ "github.com/vigil-cert/vigil/internal/shadowserver" // shadowserver
)
