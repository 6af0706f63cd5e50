package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/payper/payper/internal/identity"
)

func cmdAdmin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("admin: want a subcommand: create-key, audit")
	}
	switch args[0] {
	case "create-key":
		var c common
		var role, subject, label string
		f := newFlags("admin create-key", getenv, stderr)
		c.register(f)
		f.StringVar(&role, "role", identity.RoleAdmin, "role of the key: admin, brand or creator")
		f.StringVar(&subject, "subject", "", "brand or creator id the key acts for (not for admin keys)")
		f.StringVar(&label, "label", "cli", "a note to recognise the key by")
		if err := f.parse(args[1:]); err != nil {
			return err
		}
		a, err := c.open(ctx, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		secret, keyID, err := a.Identity.CreateKey(ctx, role, subject, label)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "created %s key %s; the secret below is shown only once\n", role, keyID)
		fmt.Fprintln(stdout, secret)
		return nil
	case "audit":
		return cmdAudit(ctx, args[1:], getenv, stdout, stderr)
	}
	return fmt.Errorf("admin: unknown subcommand %q (want create-key or audit)", args[0])
}

// cmdAudit checks the ledger's invariants against the database. It prints
// each check and each violation, and fails when there is any violation.
func cmdAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c common
	var asJSON bool
	f := newFlags("admin audit", getenv, stderr)
	c.register(f)
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	if err := f.parse(args); err != nil {
		return err
	}
	a, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := a.Ledger.Audit(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stdout, rep.String())
	}
	if !rep.OK() {
		return fmt.Errorf("ledger audit found %d violation(s)", len(rep.Violations))
	}
	return nil
}
