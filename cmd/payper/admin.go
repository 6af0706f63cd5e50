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
		return fmt.Errorf("admin: want a subcommand: create-key, create-operator, audit")
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
	case "create-operator":
		return cmdCreateOperator(ctx, args[1:], getenv, stdout, stderr)
	case "audit":
		return cmdAudit(ctx, args[1:], getenv, stdout, stderr)
	}
	return fmt.Errorf("admin: unknown subcommand %q (want create-key, create-operator or audit)", args[0])
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

// envOperatorPassword is where create-operator reads the new operator's
// password from: an environment variable, not a flag, so it stays out of
// shell history and process listings.
const envOperatorPassword = "PAYPER_OPERATOR_PASSWORD"

// cmdCreateOperator creates an operator user (a person who signs in with an
// email and password and acts as admin) for the web app's sign-in; there is
// no sign-up for operators.
func cmdCreateOperator(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c common
	var email string
	f := newFlags("admin create-operator", getenv, stderr)
	c.register(f)
	f.StringVar(&email, "email", "", "the operator's email address (the password is read from "+envOperatorPassword+")")
	if err := f.parse(args); err != nil {
		return err
	}
	if email == "" {
		return fmt.Errorf("admin create-operator: --email is required")
	}
	password := getenv(envOperatorPassword)
	if password == "" {
		return fmt.Errorf("admin create-operator: set %s to the new operator's password (at least 10 characters, not a common one)", envOperatorPassword)
	}
	a, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Accounts.CreateOperator(ctx, email, password)
	if err != nil {
		return fmt.Errorf("admin create-operator: %w", err)
	}
	fmt.Fprintf(stderr, "created operator %s (%s)\n", u.Email, u.ID)
	fmt.Fprintln(stdout, u.ID)
	return nil
}
