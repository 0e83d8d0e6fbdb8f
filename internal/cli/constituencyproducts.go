package cli

// vigil constituency products import|export HANDLE: what an
// organisation runs (issue 13), as its portal imports and exports it.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/products"
	"github.com/vigil-cert/vigil/internal/store"
)

// runConstituencyProducts runs "products import HANDLE FILE [--replace]"
// and "products export HANDLE [--format csv|json] [--output FILE]".
func runConstituencyProducts(ctx context.Context, c *cmdEnv, args []string) error {
	var sub string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	var positional []string
	for len(args) > 0 && (!strings.HasPrefix(args[0], "-") || args[0] == "-") {
		positional, args = append(positional, args[0]), args[1:]
	}
	replace := c.flags.Bool("replace", false, "products import: replace the organisation's declared products with the file's")
	format := c.flags.String("format", "csv", "products export: csv or json")
	output := c.flags.String("output", "", "export: write to this file instead of standard output")
	if err := c.parse(args); err != nil {
		return err
	}
	positional = append(positional, c.flags.Args()...)
	switch {
	case sub == "import" && len(positional) == 2:
		return productsImport(ctx, c, positional[0], positional[1], *replace)
	case sub == "export" && len(positional) == 1:
		return productsExport(ctx, c, positional[0], *format, *output)
	}
	return c.usageError("cli.products.usage")
}

func productsImport(ctx context.Context, c *cmdEnv, handle, file string, replace bool) error {
	in := c.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return &fileError{file, err}
		}
		defer f.Close()
		in = f
	}
	list, err := products.ReadFile(in, "cli")
	var ie *publication.InputError
	if errors.As(err, &ie) {
		return fmt.Errorf("%s: %s", file, c.in(ie.Message))
	}
	if err != nil {
		return &fileError{file, err}
	}
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	org, err := a.store.GetOrganisationByHandle(ctx, handle)
	if errors.Is(err, store.ErrNotFound) {
		return c.fail("cli.constituency.notfound", handle)
	}
	if err != nil {
		return failedTo(err, "cli.constituency.read", handle)
	}
	add := a.store.Products.AddDeclarations
	if replace {
		add = a.store.Products.ReplaceDeclarations
	}
	n, err := add(ctx, org.ID, list)
	if errors.As(err, &ie) {
		return fmt.Errorf("%s: %s", file, c.in(ie.Message))
	}
	if err != nil {
		return failedTo(err, "cli.products.import.failed", file, org.Handle)
	}
	detail := fmt.Sprintf("%d products added from %s", n, file)
	if replace {
		detail += " (replace)"
	}
	if err := a.store.AddAudit(ctx, auth.AuditEntry{Time: time.Now(), Actor: "cli", Action: "products.import",
		Target: org.Handle, Detail: detail}); err != nil {
		return failedTo(err, "cli.products.import.audit", file, org.Handle)
	}
	total, err := a.store.Products.CountDeclarations(ctx, org.ID)
	if err != nil {
		return failedTo(err, "cli.products.read", org.Handle)
	}
	fmt.Fprintln(c.stdout, c.tn("cli.products.imported", n, org.Handle, total))
	return nil
}

func productsExport(ctx context.Context, c *cmdEnv, handle, format, output string) error {
	if format != "csv" && format != "json" {
		return c.usageError("cli.products.usage")
	}
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	org, err := a.store.GetOrganisationByHandle(ctx, handle)
	if errors.Is(err, store.ErrNotFound) {
		return c.fail("cli.constituency.notfound", handle)
	}
	if err != nil {
		return failedTo(err, "cli.constituency.read", handle)
	}
	list, err := a.store.Products.ListDeclarations(ctx, org.ID)
	if err != nil {
		return failedTo(err, "cli.products.read", org.Handle)
	}
	var buf bytes.Buffer
	write := products.WriteCSV
	if format == "json" {
		write = products.WriteJSON
	}
	if err := write(&buf, list); err != nil {
		return exportError(err, output)
	}
	if output == "" {
		if _, err := c.stdout.Write(buf.Bytes()); err != nil {
			return exportError(err, output)
		}
		return nil
	}
	if err := writeFileAtomically(output, buf.Bytes()); err != nil {
		return exportError(err, output)
	}
	fmt.Fprintln(c.stdout, c.tn("cli.products.exported", len(list), output))
	return nil
}
