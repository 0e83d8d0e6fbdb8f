package demo

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/publication/products"
)

// demoProducts are what the demo constituent (ConstituentOrg) declares it
// runs: the demo's router advisory and its building-management one
// concern it (an affected firmware version, and a product declared
// without a version), the package one does not (a fixed version).
var demoProducts = []products.Declaration{
	{CPE: "cpe:2.3:o:acme:edgerouter_firmware:4.1.0:*:*:*:*:*:*:*", Note: "campus edge routers", AddedBy: "demo"},
	{Vendor: "Demo Controls", Product: "Building Manager", Note: "library and sports hall", AddedBy: "demo"},
	{PURL: "pkg:npm/example-parser@2.4.0", Note: "student portal", AddedBy: "demo"},
	{Vendor: "Apache", Product: "HTTP Server", Version: "2.4.62", AddedBy: "demo"},
}

// loadProducts declares the demo constituent's products; declaring them
// again changes nothing.
func loadProducts(ctx context.Context, st *database.DB) error {
	org, err := st.GetOrganisationByHandle(ctx, ConstituentOrg)
	if err != nil {
		return fmt.Errorf("demo products: %w", err)
	}
	list := append([]products.Declaration(nil), demoProducts...)
	if _, err := st.Products.AddDeclarations(ctx, org.ID, list); err != nil {
		return fmt.Errorf("demo products: %w", err)
	}
	return nil
}
