package products

// Importing and exporting declarations: a CSV file with a header line
// naming its columns, or a JSON list of objects, with the fields cpe,
// purl, vendor, product, version and note.

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/vigil-cert/vigil/internal/publication"
)

// MaxFileBytes bounds an imported file.
const MaxFileBytes = 4 << 20

// Columns are the file's columns, in the order Export writes them.
var Columns = []string{"cpe", "purl", "vendor", "product", "version", "note"}

// fileEntry is one declaration as a file holds it.
type fileEntry struct {
	CPE     string `json:"cpe,omitempty"`
	PURL    string `json:"purl,omitempty"`
	Vendor  string `json:"vendor,omitempty"`
	Product string `json:"product,omitempty"`
	Version string `json:"version,omitempty"`
	Note    string `json:"note,omitempty"`
}

// ReadFile reads declarations from a CSV or JSON file (JSON when its
// first character is "["), each checked (Check), by addedBy. A refusal
// is a *publication.InputError of field "file" that names the entry
// (from 1) and quotes the entry's own refusal; a file of more than
// MaxPerOrganisation entries, or larger than MaxFileBytes, is refused
// too.
func ReadFile(r io.Reader, addedBy string) ([]Declaration, error) {
	br := bufio.NewReader(io.LimitReader(r, MaxFileBytes+1))
	data, err := io.ReadAll(br)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, publication.Refuse("file", "products.err.long", MaxFileBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var entries []fileEntry
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &entries); err != nil {
			return nil, publication.Refuse("file", "products.err.import.format")
		}
	} else if entries, err = readCSV(data); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, publication.Refuse("file", "products.err.import.empty")
	}
	if len(entries) > MaxPerOrganisation {
		return nil, ErrTooMany
	}
	out := make([]Declaration, len(entries))
	for i, e := range entries {
		d := Declaration{CPE: e.CPE, PURL: e.PURL, Vendor: e.Vendor, Product: e.Product, Version: e.Version, Note: e.Note, AddedBy: addedBy}
		if err := Check(&d); err != nil {
			var ie *publication.InputError
			if errors.As(err, &ie) {
				return nil, &EntryError{Entry: i + 1, Refusal: ie, file: publication.Refuse("file", "products.err.import.line", i+1, ie.Message)}
			}
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// EntryError is ReadFile's refusal of one entry: which (from 1), and
// the entry's own refusal, which names its field (cpe, purl, product,
// note). It is the refusal of the file too (field "file", naming the
// entry), which errors.As finds as a *publication.InputError.
type EntryError struct {
	Entry   int
	Refusal *publication.InputError
	file    *publication.InputError
}

// File is the refusal of the file as a whole: field "file", the message
// naming the entry and quoting its refusal.
func (e *EntryError) File() *publication.InputError { return e.file }

func (e *EntryError) Error() string { return e.file.Error() }

// Unwrap is the refusal of the file.
func (e *EntryError) Unwrap() error { return e.file }

// readCSV reads a CSV file whose first line names the columns.
func readCSV(data []byte) ([]fileEntry, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, publication.Refuse("file", "products.err.import.format")
	}
	index := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range Columns {
			known = known || c == h
		}
		if !known {
			return nil, publication.Refuse("file", "products.err.import.column", h)
		}
		index[h] = i
	}
	var out []fileEntry
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, publication.Refuse("file", "products.err.import.format")
		}
		get := func(col string) string {
			if i, ok := index[col]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		e := fileEntry{CPE: get("cpe"), PURL: get("purl"), Vendor: get("vendor"), Product: get("product"), Version: get("version"), Note: get("note")}
		if e == (fileEntry{}) {
			continue // an empty line
		}
		out = append(out, e)
		if len(out) > MaxPerOrganisation {
			return nil, ErrTooMany
		}
	}
}

// WriteCSV writes ds as a CSV file with a header line, which ReadFile
// reads back. A typed declaration is written with its names; one of a
// CPE name or Package URL with that alone.
func WriteCSV(w io.Writer, ds []Declaration) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	for _, d := range ds {
		e := entryOf(d)
		if err := cw.Write([]string{escapeFormula(e.CPE), escapeFormula(e.PURL), escapeFormula(e.Vendor), escapeFormula(e.Product),
			escapeFormula(e.Version), escapeFormula(e.Note)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes ds as a JSON list, which ReadFile reads back.
func WriteJSON(w io.Writer, ds []Declaration) error {
	out := make([]fileEntry, len(ds))
	for i, d := range ds {
		out[i] = entryOf(d)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func entryOf(d Declaration) fileEntry {
	switch {
	case d.CPE != "":
		return fileEntry{CPE: d.CPE, Note: d.Note}
	case d.PURL != "":
		return fileEntry{PURL: d.PURL, Note: d.Note}
	}
	return fileEntry{Vendor: d.Vendor, Product: d.Product, Version: d.Version, Note: d.Note}
}

// escapeFormula keeps a spreadsheet from reading a value as a formula,
// as the constituency's exports do: a leading =, +, - or @ gets a quote.
// A CPE name or Package URL never starts with one.
func escapeFormula(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
