package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/store/storetest"
)

// TestSandboxServed drives the sandbox network a payper server serves: the
// driver only for admin keys, and a creator's connect flow through the
// sandbox Client, the connector the engagement pipeline will use.
func TestSandboxServed(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		base := startServer(t, dbURL)
		c := client{t: t, base: base}
		brand := str(c.must(201, "POST", "/v1/brands", adminToken, `{"name":"Acme"}`), "api_key")

		c.fails(401, "unauthorized", "", "GET", "/sandbox/driver/accounts", "", "")
		c.fails(403, "forbidden", "", "GET", "/sandbox/driver/accounts", brand, "")
		acct := c.must(201, "POST", "/sandbox/driver/accounts", adminToken, `{"handle":"mia","followers":4200}`)
		if acct["handle"] != "mia" {
			t.Fatalf("driver created %v", acct)
		}

		// The creator connects through the OAuth-shaped flow, with PKCE.
		cl := sandbox.NewClient(base+sandbox.Prefix, "payper-e2e", http.DefaultClient, clock.System{})
		verifier := platform.NewVerifier()
		redirect := "http://127.0.0.1/callback"
		authURL := cl.AuthorizeURL(platform.AuthRequest{State: "st-1", RedirectURI: redirect, CodeChallenge: platform.Challenge(verifier), LoginHint: "mia"})
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(authURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("state") != "st-1" || loc.Query().Get("code") == "" {
			t.Fatalf("authorize answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		tok, err := cl.Exchange(context.Background(), loc.Query().Get("code"), redirect, verifier)
		if err != nil {
			t.Fatal(err)
		}
		prof, err := cl.Profile(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if prof.Handle != "mia" || !prof.Followers.Known || prof.Followers.Value != 4200 {
			t.Fatalf("profile read through the connector: %+v", prof)
		}
	})
}
