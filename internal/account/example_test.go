package account_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/mail"
	"github.com/payper/payper/internal/store"
)

// A brand signs up, confirms its address with the link from the outbox
// (where mail waits when no SMTP server is configured), signs in and is
// recognised by its session cookie's token.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "account-example")
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, filepath.Join(dir, "payper.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		panic(err)
	}
	accounts := account.New(db, clock.System{}, account.Config{BaseURL: "https://payper.example.com"})

	su, err := accounts.SignUpBrand(ctx, account.BrandSignup{BrandName: "Acme", Email: "Ana@Acme.example", Password: "correct horse battery"})
	if err != nil {
		panic(err)
	}
	fmt.Println(su.User.Email, su.User.BrandRole, su.BrandState)

	mails, _ := mail.NewOutbox(db).List(ctx, identity.Principal{Role: identity.RoleAdmin}, mail.StatusPending, "", 10)
	link := regexp.MustCompile(`/verify/(\S+)`).FindStringSubmatch(mails[0].Text)
	u, err := accounts.VerifyEmail(ctx, link[1])
	fmt.Println(mails[0].Subject, "->", u.EmailVerified, err)

	ns, err := accounts.Login(ctx, account.Login{Email: "ana@acme.example", Password: "correct horse battery", Address: "192.0.2.1"})
	if err != nil {
		panic(err)
	}
	auth, err := accounts.Lookup(ctx, ns.Token)
	fmt.Println(auth.Principal.Role, auth.Principal.BrandID() == su.User.BrandID, err)

	_, err = accounts.Login(ctx, account.Login{Email: "ana@acme.example", Password: "not the password"})
	fmt.Println(err)
	// Output:
	// Ana@acme.example owner active
	// Confirm your email address for payper -> true <nil>
	// brand true <nil>
	// wrong email or password
}
