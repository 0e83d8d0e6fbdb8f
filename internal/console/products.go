package console

// The declared products (issue 13) as the console reaches them: the
// stores, and the block of an organisation's page that lists its
// declarations for the team. The portal's pages are in
// portalproducts.go.

import (
	"context"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/publication/products"
)

// productStores returns the declarations and the publications the
// portal reads: the database's (Config.Store is a *database.DB in
// `vigil serve` and in the tests); nil, nil when the store keeps
// neither, and the pages are not served.
func (c *Console) productStores() (products.Declarations, products.PublicationReader) {
	db, ok := c.store.(*database.DB)
	if !ok || db.Products == nil || db.Publications == nil {
		return nil, nil
	}
	return db.Products, db.Publications
}

// organisationProducts is the block of an organisation's page (for the
// team) that lists its declared products, the first
// organisationProductsShown of them.
type organisationProducts struct {
	Shown bool // the database keeps declarations
	List  []products.Declaration
	More  int
}

const organisationProductsShown = 50

func (c *Console) organisationProducts(ctx context.Context, orgID int64) (organisationProducts, error) {
	decls, _ := c.productStores()
	if decls == nil {
		return organisationProducts{}, nil
	}
	list, err := decls.ListDeclarations(ctx, orgID)
	if err != nil {
		return organisationProducts{}, err
	}
	p := organisationProducts{Shown: true, List: list}
	if len(list) > organisationProductsShown {
		p.List, p.More = list[:organisationProductsShown], len(list)-organisationProductsShown
	}
	return p, nil
}
