package products

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/publication"
)

// MaxPerOrganisation bounds an organisation's declarations.
const MaxPerOrganisation = 5000

// Bounds of a declaration's fields, in bytes.
const (
	MaxNameBytes = 200
	MaxNoteBytes = 500
	MaxIDBytes   = 1000 // a CPE name or Package URL
)

// Declaration is one product an organisation says it runs: a CPE 2.3
// name, a Package URL, or a vendor, product and version typed in. For a
// CPE or Package URL, Vendor, Product and Version are taken from it
// (the CPE's vendor, product and version; the Package URL's namespace,
// name and version), so that every declaration is matched the same way.
type Declaration struct {
	ID    int64
	OrgID int64
	// CPE and PURL are in their canonical form (Check); at most one is
	// set.
	CPE     string
	PURL    string
	Vendor  string
	Product string
	Version string // "" when not given: any version
	Note    string
	Added   time.Time
	AddedBy string // the account's name, or "import"
}

// ErrTooMany refuses a declaration beyond MaxPerOrganisation.
var ErrTooMany = publication.Refuse("", "products.err.toomany", MaxPerOrganisation)

// Check cleans d and says what is wrong with it: a CPE name or Package
// URL that does not parse (its attribute or part named), both given, no
// product, a field too long. A CPE name or Package URL sets Vendor,
// Product and Version.
func Check(d *Declaration) error {
	d.CPE, d.PURL = strings.TrimSpace(d.CPE), strings.TrimSpace(d.PURL)
	d.Vendor, d.Product, d.Version = clean(d.Vendor), clean(d.Product), strings.TrimSpace(d.Version)
	d.Note = strings.TrimSpace(d.Note)
	switch {
	case d.CPE != "" && d.PURL != "":
		return publication.Refuse("cpe", "products.err.both")
	case len(d.CPE) > MaxIDBytes:
		return publication.Refuse("cpe", "products.err.long", MaxIDBytes)
	case len(d.PURL) > MaxIDBytes:
		return publication.Refuse("purl", "products.err.long", MaxIDBytes)
	case d.CPE != "":
		c, err := ParseCPE(d.CPE)
		var ce *CPEError
		if errors.As(err, &ce) {
			attr := ce.Attribute
			if attr == "" {
				attr = "cpe:2.3"
			}
			return publication.Refuse("cpe", "products.err.cpe", attr)
		}
		if c.Product() == CPEAny || c.Product() == CPENA || hasWildcard(c.Product()) {
			return publication.Refuse("cpe", "products.err.cpe.product")
		}
		d.CPE = c.String()
		d.Vendor, d.Product, d.Version = c.Unquoted(1), c.Unquoted(2), c.Unquoted(3)
	case d.PURL != "":
		p, err := ParsePURL(d.PURL)
		var pe *PURLError
		if errors.As(err, &pe) {
			return publication.Refuse("purl", "products.err.purl", pe.Part)
		}
		d.PURL = p.String()
		d.Vendor, d.Product, d.Version = p.Namespace, p.Name, p.Version
	}
	switch {
	case d.Product == "":
		return publication.Refuse("product", "products.err.product")
	case len(d.Vendor) > MaxNameBytes || len(d.Product) > MaxNameBytes || len(d.Version) > MaxNameBytes:
		return publication.Refuse("product", "products.err.long", MaxNameBytes)
	case len(d.Note) > MaxNoteBytes:
		return publication.Refuse("note", "products.err.long", MaxNoteBytes)
	case !utf8.ValidString(d.Vendor + d.Product + d.Version + d.Note):
		return publication.Refuse("product", "products.err.utf8")
	}
	return nil
}

// clean trims s and collapses its runs of white space.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

// Kind says how d was declared: "cpe", "purl" or "name".
func (d Declaration) Kind() string {
	switch {
	case d.CPE != "":
		return "cpe"
	case d.PURL != "":
		return "purl"
	}
	return "name"
}

// Identifier is the declaration as it was given: its CPE name, Package
// URL, or vendor, product and version.
func (d Declaration) Identifier() string {
	switch {
	case d.CPE != "":
		return d.CPE
	case d.PURL != "":
		return d.PURL
	}
	return strings.TrimSpace(strings.Join([]string{d.Vendor, d.Product, d.Version}, " "))
}

// NormaliseName is a vendor's or product's name as names are compared:
// in lower case, with spaces, hyphens and underscores alike ("Internet
// Explorer", "internet-explorer" and CPE's "internet_explorer" are one
// name).
func NormaliseName(s string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if r == ' ' || r == '-' || r == '_' || r == '\t' {
			gap = true
			continue
		}
		if gap && b.Len() > 0 {
			b.WriteByte('_')
		}
		gap = false
		b.WriteRune(r)
	}
	return b.String()
}

// Declarations is what internal/publication/products/productsdb keeps.
// Every method takes the organisation it acts for, and a declaration of
// another organisation is store.ErrNotFound, as one that does not exist.
type Declarations interface {
	// AddDeclarations checks and stores ds for org in one transaction,
	// setting their IDs, OrgID and Added; ErrTooMany when the
	// organisation would have more than MaxPerOrganisation; nothing is
	// stored when one is refused. A declaration equal to a stored one
	// (same kind and identifier) is left out and not counted.
	AddDeclarations(ctx context.Context, org int64, ds []Declaration) (added int, err error)
	// ReplaceDeclarations is AddDeclarations after deleting the
	// organisation's declarations, in one transaction (an import that
	// replaces).
	ReplaceDeclarations(ctx context.Context, org int64, ds []Declaration) (added int, err error)
	// ListDeclarations returns org's declarations, by product name.
	ListDeclarations(ctx context.Context, org int64) ([]Declaration, error)
	CountDeclarations(ctx context.Context, org int64) (int, error)
	// DeleteDeclaration deletes org's declaration id.
	DeleteDeclaration(ctx context.Context, org int64, id int64) error
	// ConcernedDeclarations returns every organisation's declarations
	// that may match one of products (by normalised product name, or all
	// when a product's name is a wildcard), by organisation: Concerns
	// decides.
	ConcernedDeclarations(ctx context.Context, products []publication.Product) (map[int64][]Declaration, error)
	// Tell records that org was told of the publication's revision and
	// queues msgs in the outbox, in one transaction; false, and nothing
	// queued, when it was told of that revision already.
	Tell(ctx context.Context, publicationID int64, revision int, org int64, msgs []outbox.Message) (bool, error)
	// Told lists the organisations told of the publication's revision.
	Told(ctx context.Context, publicationID int64, revision int) ([]int64, error)
	// WasTold reports whether org was told of the publication's
	// revision or of an earlier one (from 1): what opens a TLP:AMBER
	// advisory to it in the portal. One query, whatever the revisions.
	WasTold(ctx context.Context, publicationID int64, revision int, org int64) (bool, error)
}
