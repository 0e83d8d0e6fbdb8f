package api

// The products an organisation declares it runs (issue 13), as the
// portal, the organisation's page and `vigil constituency products`
// handle them: list, replace with a file (the CLI's and the portal's
// format, products.ReadFile), add one, delete one.
//
// Which organisation's declarations a call reaches is decided where
// every other route decides it: a constituent's token reaches its own
// organisation's only, through /constituent/products and
// organisationOf (no parameter names one), and is refused the team's
// /organisations/{id}/products by its role; the team reaches any
// organisation's by its id (pathOrganisation). The store then reads and
// writes under that organisation's id only, so that another
// organisation's declaration answers exactly like a missing one.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/products"
	"github.com/vigil-cert/vigil/internal/store"
)

// ProductDeclarations is what the products routes read and write of the
// declarations (productsdb on the database): every call names the
// organisation it acts for.
type ProductDeclarations interface {
	ListDeclarations(ctx context.Context, org int64) ([]products.Declaration, error)
	AddDeclarations(ctx context.Context, org int64, ds []products.Declaration) (int, error)
	ReplaceDeclarations(ctx context.Context, org int64, ds []products.Declaration) (int, error)
	DeleteDeclaration(ctx context.Context, org int64, id int64) error
}

var errNoProducts = errorText(http.StatusNotImplemented, "not_implemented", "", i18n.M("api.error.products.none"))

// declarationJSON is one declared product. Kind is cpe, purl or name; a
// CPE name or Package URL sets vendor, product and version from it.
type declarationJSON struct {
	ID      int64     `json:"id"`
	Kind    string    `json:"kind"`
	CPE     string    `json:"cpe,omitempty"`
	PURL    string    `json:"purl,omitempty"`
	Vendor  string    `json:"vendor"`
	Product string    `json:"product"`
	Version string    `json:"version"`
	Note    string    `json:"note"`
	Added   time.Time `json:"added"`
	AddedBy string    `json:"added_by"`
}

func toDeclarationJSON(d products.Declaration) declarationJSON {
	return declarationJSON{ID: d.ID, Kind: d.Kind(), CPE: d.CPE, PURL: d.PURL, Vendor: d.Vendor, Product: d.Product,
		Version: d.Version, Note: d.Note, Added: d.Added.UTC(), AddedBy: d.AddedBy}
}

// productListJSON is an organisation's declarations, by product name.
type productListJSON struct {
	Organisation string `json:"organisation"`
	// Max is how many an organisation may declare.
	Max          int               `json:"max"`
	Declarations []declarationJSON `json:"declarations"`
	// Added is, after a replace, how many declarations the body stored.
	Added *int `json:"added,omitempty"`
}

// declarationInput is the body that adds one declaration: a CPE name, a
// Package URL, or a vendor, product and version.
type declarationInput struct {
	CPE     string `json:"cpe"`
	PURL    string `json:"purl"`
	Vendor  string `json:"vendor"`
	Product string `json:"product"`
	Version string `json:"version"`
	Note    string `json:"note"`
}

func (h *handler) productStore() (ProductDeclarations, error) {
	if h.products == nil {
		return nil, errNoProducts
	}
	return h.products, nil
}

// The constituent's routes: its own organisation, from its token.

func (h *handler) constituentProducts(r *http.Request, c *caller) (any, error) {
	org, err := h.organisationOf(r, c)
	if err != nil {
		return nil, err
	}
	return h.listProducts(r, org)
}

func (h *handler) replaceConstituentProducts(r *http.Request, c *caller) (any, error) {
	org, err := h.organisationOf(r, c)
	if err != nil {
		return nil, err
	}
	return h.replaceProducts(r, c, org)
}

func (h *handler) addConstituentProduct(r *http.Request, c *caller) (any, error) {
	org, err := h.organisationOf(r, c)
	if err != nil {
		return nil, err
	}
	return h.addProduct(r, c, org, "/api/v1/constituent/products/")
}

func (h *handler) deleteConstituentProduct(r *http.Request, c *caller) (any, error) {
	org, err := h.organisationOf(r, c)
	if err != nil {
		return nil, err
	}
	return h.deleteProduct(r, c, org, "id")
}

// The team's routes: any organisation, by its id.

func (h *handler) organisationProducts(r *http.Request, _ *caller) (any, error) {
	org, err := h.pathOrganisation(r)
	if err != nil {
		return nil, err
	}
	return h.listProducts(r, org)
}

func (h *handler) replaceOrganisationProducts(r *http.Request, c *caller) (any, error) {
	org, err := h.pathOrganisation(r)
	if err != nil {
		return nil, err
	}
	return h.replaceProducts(r, c, org)
}

func (h *handler) addOrganisationProduct(r *http.Request, c *caller) (any, error) {
	org, err := h.pathOrganisation(r)
	if err != nil {
		return nil, err
	}
	return h.addProduct(r, c, org, "/api/v1/organisations/"+strconv.FormatInt(org.ID, 10)+"/products/")
}

func (h *handler) deleteOrganisationProduct(r *http.Request, c *caller) (any, error) {
	org, err := h.pathOrganisation(r)
	if err != nil {
		return nil, err
	}
	return h.deleteProduct(r, c, org, "declaration")
}

// What both do, for the organisation they were given.

func (h *handler) listProducts(r *http.Request, org constituency.Organisation) (any, error) {
	decls, err := h.productStore()
	if err != nil {
		return nil, err
	}
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	list, err := decls.ListDeclarations(r.Context(), org.ID)
	if err != nil {
		return nil, fmt.Errorf("list the products of %s: %w", org.Handle, err)
	}
	return productList(org, list), nil
}

func productList(org constituency.Organisation, list []products.Declaration) productListJSON {
	out := productListJSON{Organisation: org.Handle, Max: products.MaxPerOrganisation, Declarations: []declarationJSON{}}
	for _, d := range list {
		out.Declarations = append(out.Declarations, toDeclarationJSON(d))
	}
	return out
}

// replaceProducts replaces the organisation's declarations with the
// body's: a file as the CLI and the portal import it (a JSON list, or
// CSV with a header line), at most products.MaxFileBytes and
// products.MaxPerOrganisation entries, all refused when one is. An
// empty JSON list deletes them all.
func (h *handler) replaceProducts(r *http.Request, c *caller, org constituency.Organisation) (any, error) {
	decls, err := h.productStore()
	if err != nil {
		return nil, err
	}
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt {
	case "application/json", "text/csv":
	default:
		return nil, errorText(http.StatusUnsupportedMediaType, "unsupported_media_type", "", i18n.M("api.error.products.media"))
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, products.MaxFileBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, errorText(http.StatusRequestEntityTooLarge, "body_too_large", "", i18n.M("api.error.body.large", products.MaxFileBytes))
	case err != nil:
		return nil, fmt.Errorf("read the products of %s: %w", org.Handle, err)
	}
	var list []products.Declaration
	if string(bytes.TrimSpace(data)) != "[]" {
		if list, err = products.ReadFile(bytes.NewReader(data), c.user.Name); err != nil {
			return nil, productsRefusal(err)
		}
	}
	ctx := r.Context()
	n, err := decls.ReplaceDeclarations(ctx, org.ID, list)
	if err != nil {
		return nil, productsRefusal(err)
	}
	h.audit(ctx, c, "products.replace", org.Handle, fmt.Sprintf("%d products declared in place of the organisation's", n))
	stored, err := decls.ListDeclarations(ctx, org.ID)
	if err != nil {
		return nil, fmt.Errorf("list the products of %s: %w", org.Handle, err)
	}
	out := productList(org, stored)
	out.Added = &n
	return out, nil
}

// addProduct adds the body's declaration: 201 with it, or 200 with the
// stored one when the organisation declared it already.
func (h *handler) addProduct(r *http.Request, c *caller, org constituency.Organisation, location string) (any, error) {
	decls, err := h.productStore()
	if err != nil {
		return nil, err
	}
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	var in declarationInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	d := []products.Declaration{{CPE: in.CPE, PURL: in.PURL, Vendor: in.Vendor, Product: in.Product, Version: in.Version,
		Note: in.Note, AddedBy: c.user.Name}}
	ctx := r.Context()
	n, err := decls.AddDeclarations(ctx, org.ID, d)
	if err != nil {
		return nil, productsRefusal(err)
	}
	if n == 0 {
		// Declared already (the same kind and identifier, in any case):
		// the stored one answers.
		list, err := decls.ListDeclarations(ctx, org.ID)
		if err != nil {
			return nil, fmt.Errorf("list the products of %s: %w", org.Handle, err)
		}
		for _, have := range list {
			if have.Kind() == d[0].Kind() && strings.EqualFold(have.Identifier(), d[0].Identifier()) {
				return toDeclarationJSON(have), nil
			}
		}
		return nil, fmt.Errorf("add a product to %s: stored, but not found", org.Handle)
	}
	h.audit(ctx, c, "products.add", org.Handle, d[0].Identifier())
	return created{location: location + strconv.FormatInt(d[0].ID, 10), value: toDeclarationJSON(d[0])}, nil
}

// deleteProduct deletes the declaration of the path's parameter: another
// organisation's answers as a missing one, as the store deletes only
// under org's id.
func (h *handler) deleteProduct(r *http.Request, c *caller, org constituency.Organisation, param string) (any, error) {
	decls, err := h.productStore()
	if err != nil {
		return nil, err
	}
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(r.PathValue(param), 10, 64)
	if err != nil || id < 1 {
		return nil, badParameterText(param, i18n.M("api.error.param.id", param))
	}
	ctx := r.Context()
	err = decls.DeleteDeclaration(ctx, org.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.products.notfound"))
	}
	if err != nil {
		return nil, fmt.Errorf("delete product %d of %s: %w", id, org.Handle, err)
	}
	h.audit(ctx, c, "products.delete", org.Handle, "declaration "+strconv.FormatInt(id, 10))
	return noContent{}, nil
}

// productsRefusal turns the declarations' refusals into 400s in the
// caller's language that name the field at fault: of a file's entry,
// the entry's own field (cpe, purl, product, note), the message naming
// the entry.
func productsRefusal(err error) error {
	var entry *products.EntryError
	if errors.As(err, &entry) {
		return errorText(http.StatusBadRequest, "bad_input", entry.Refusal.Field, entry.File().Message)
	}
	var ie *publication.InputError
	if errors.As(err, &ie) {
		field := ie.Field
		if errors.Is(err, products.ErrTooMany) {
			field = "body"
		}
		return errorText(http.StatusBadRequest, "bad_input", field, ie.Message)
	}
	return err
}
