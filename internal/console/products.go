package console

// The declared products (issue 13) as the console reaches them: the
// stores it is given (Config.Products), and the block of an
// organisation's page that lists its declarations for the team. The
// portal's pages are in portalproducts.go.

import (
	"context"
	"net/http"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/publication/products"
)

// ProductPages configures the constituents' products: the portal's
// products and advisories pages, and the products of an organisation's
// page. `vigil serve` gives it the database's declarations and
// publications; left zero, those pages say that the products are not
// configured.
type ProductPages struct {
	// Declarations keeps what each organisation runs
	// (internal/publication/products/productsdb).
	Declarations ProductDeclarations
	// Publications are the advisories the portal matches them with.
	Publications products.PublicationReader
}

// ProductDeclarations is what the console reads and writes of the
// declarations: an organisation's, always by its id.
type ProductDeclarations interface {
	products.DeclarationReader
	AddDeclarations(ctx context.Context, org int64, ds []products.Declaration) (int, error)
	ReplaceDeclarations(ctx context.Context, org int64, ds []products.Declaration) (int, error)
	CountDeclarations(ctx context.Context, org int64) (int, error)
	DeleteDeclaration(ctx context.Context, org int64, id int64) error
}

// configured reports whether the pages have both their stores.
func (p ProductPages) configured() bool { return p.Declarations != nil && p.Publications != nil }

// Message IDs of the products' pages when they are not configured.
const (
	msgProductsUnconfiguredHeading = "products.unconfigured.heading"
	msgProductsUnconfigured        = "products.unconfigured"
)

// withProducts serves h when the products are configured, and otherwise
// says so (501, as the API answers a route this server does not serve).
func (c *Console) withProducts(h portalHandler) portalHandler {
	return func(w http.ResponseWriter, r *http.Request, v *visit, org constituency.Organisation) {
		if !c.products.configured() {
			c.problem(w, r, v, http.StatusNotImplemented, msgProductsUnconfiguredHeading, msgProductsUnconfigured)
			return
		}
		h(w, r, v, org)
	}
}

// organisationProducts is the block of an organisation's page (for the
// team) that lists its declared products, the first
// organisationProductsShown of them, or says that the products are not
// configured.
type organisationProducts struct {
	Unconfigured bool
	List         []products.Declaration
	More         int
}

const organisationProductsShown = 50

func (c *Console) organisationProducts(ctx context.Context, orgID int64) (organisationProducts, error) {
	if !c.products.configured() {
		return organisationProducts{Unconfigured: true}, nil
	}
	list, err := c.products.Declarations.ListDeclarations(ctx, orgID)
	if err != nil {
		return organisationProducts{}, err
	}
	p := organisationProducts{List: list}
	if len(list) > organisationProductsShown {
		p.List, p.More = list[:organisationProductsShown], len(list)-organisationProductsShown
	}
	return p, nil
}
