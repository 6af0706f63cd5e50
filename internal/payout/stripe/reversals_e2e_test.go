package stripe_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/payper/payper/internal/demo"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/payout/stripe"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store/storetest"
)

// delivery is one signed webhook delivery.
type delivery struct {
	name string
	body []byte
	h    http.Header
}

// GoString names the delivery in rapid's reports.
func (d delivery) GoString() string { return fmt.Sprintf("%q", d.name) }

// variant rewrites a Stripe event delivery (its JSON) with edit and signs
// it again as Stripe would at now.
func variant(t interface{ Fatalf(string, ...any) }, body []byte, now time.Time, edit func(ev map[string]any)) delivery {
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatalf("event: %v", err)
	}
	edit(ev)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("event: %v", err)
	}
	h := http.Header{}
	h.Set("Stripe-Signature", stripe.SignForTest(e2eSecret, now, b))
	return delivery{body: b, h: h}
}

// TestReversalEventsAddUpExactly (money brief, item 2): a paid Stripe
// payout whose transfer is reversed in one to four parts, its events
// delivered in any order, any number of times, as transfer.reversed and as
// transfer.updated, with and without the reversals list, redelivered under
// new event ids: the creator's available balance gets back exactly the
// transfer's amount_reversed, to the micro-unit, and the payout is
// reversed exactly when all of it came back. Before the fix an event
// without the list reversed the whole amount_reversed again, and the same
// reversal under a new event id was reversed twice. Both stores.
func TestReversalEventsAddUpExactly(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		env, err := demo.Start(t.Context(), dbURL, time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), engage.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { env.Close() })
		a, ctx := env.App, t.Context()
		creator := earn(t, ctx, a, 5_000*money.Scale+4_567)
		fake := stripe.NewFake(e2eKey, e2eSecret, "DE", env.Clock.Now)
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		prov, err := stripe.New(stripe.Config{SecretKey: e2eKey, WebhookSecret: e2eSecret, BaseURL: srv.URL, Clock: env.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		svc := payout.New(a.DB, env.Clock, a.Ledger, payout.Config{}, nil, prov)
		box, _ := secret.New([]byte("0123456789abcdef0123456789abcdef"))
		svc.SetSecretBox(box)
		if _, err := svc.Onboard(ctx, creator, payout.ProviderStripe, "DE", "maria@example.com", "https://payper.example/back"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := fake.CompleteOnboarding(fake.Accounts()[0].ID); err != nil {
			t.Fatal(err)
		}
		evID := 0
		rapid.Check(t, func(rt *rapid.T) {
			before, err := a.Ledger.Balance(ctx, creator.SubjectID, money.EUR)
			if err != nil {
				rt.Fatal(err)
			}
			amount := rapid.Int64Range(1000, 3000).Draw(rt, "cents")
			po, err := svc.RequestPayout(ctx, creator, payout.Request{Currency: "EUR", Provider: payout.ProviderStripe,
				Amount: json.RawMessage(fmt.Sprintf(`{"amount":"%d.%02d","currency":"EUR"}`, amount/100, amount%100))})
			if err != nil {
				rt.Fatal(err)
			}
			if n, err := svc.Process(ctx); err != nil || n != 1 {
				rt.Fatalf("process: %d %v", n, err)
			}
			list, err := svc.List(ctx, creator, payout.StatePaid)
			if err != nil || len(list) == 0 || list[0].ID != po.ID {
				rt.Fatalf("the payout is not paid: %+v %v", list, err)
			}
			ref := list[0].ProviderRef

			// Stripe reverses it in parts; each reversal's event is kept.
			parts := rapid.IntRange(1, 4).Draw(rt, "reversals")
			left, total := amount, int64(0)
			var pool []delivery
			var last []delivery
			for i := range parts {
				c := left
				if i < parts-1 || rapid.Bool().Draw(rt, "leave some") {
					c = rapid.Int64Range(1, max(1, left-int64(parts-1-i))).Draw(rt, "part")
				}
				if c <= 0 || c > left {
					break
				}
				body, _, err := fake.Reverse(ref, c)
				if err != nil {
					rt.Fatal(err)
				}
				left, total = left-c, total+c
				now := env.Clock.Now()
				mine := []delivery{
					variant(rt, body, now, func(map[string]any) {}),
				}
				mine[0].name = fmt.Sprintf("transfer.reversed #%d", i+1)
				for _, v := range []struct {
					name string
					edit func(ev map[string]any)
				}{
					{"redelivered under a new id", func(ev map[string]any) {}},
					{"as transfer.updated", func(ev map[string]any) { ev["type"] = "transfer.updated" }},
					{"without the reversals list", func(ev map[string]any) {
						delete(ev["data"].(map[string]any)["object"].(map[string]any), "reversals")
					}},
				} {
					evID++
					id := fmt.Sprintf("evt_variant%06d", evID)
					d := variant(rt, body, now, func(ev map[string]any) { v.edit(ev); ev["id"] = id })
					d.name = fmt.Sprintf("%s #%d", v.name, i+1)
					mine = append(mine, d)
				}
				pool = append(pool, mine...)
				last = mine
			}
			// Any deliveries in any order, repeats included, and at least one
			// of the last reversal's (Stripe's retries end with one getting through).
			seq := rapid.SliceOfN(rapid.SampledFrom(pool), 0, 12).Draw(rt, "deliveries")
			at := rapid.IntRange(0, len(seq)).Draw(rt, "last at")
			seq = append(seq[:at], append([]delivery{rapid.SampledFrom(last).Draw(rt, "last")}, seq[at:]...)...)
			for _, d := range seq {
				if err := svc.Webhook(ctx, payout.ProviderStripe, d.h, d.body); err != nil {
					rt.Fatalf("%s: %v", d.name, err)
				}
			}
			after, err := a.Ledger.Balance(ctx, creator.SubjectID, money.EUR)
			if err != nil {
				rt.Fatal(err)
			}
			want := before.Available - amount*10_000 + total*10_000
			if after.Available != want || after.PaidOut != before.PaidOut+(amount-total)*10_000 || after.PendingPayout != 0 {
				rt.Fatalf("%d of %d cents reversed at Stripe: available %d, want %d; paid out %d, want %d",
					total, amount, after.Available, want, after.PaidOut, before.PaidOut+(amount-total)*10_000)
			}
			all, err := svc.List(ctx, creator, "")
			if err != nil {
				rt.Fatal(err)
			}
			for _, p := range all {
				if p.ID != po.ID {
					continue
				}
				if wantState := map[bool]string{true: payout.StateReversed, false: payout.StatePaid}[total == amount]; p.State != wantState {
					rt.Fatalf("%d of %d cents reversed: payout %s", total, amount, p.State)
				}
			}
		})
		if rep, err := a.Ledger.Audit(ctx); err != nil || !rep.OK() {
			t.Fatalf("audit: %+v, %v", rep, err)
		}
	})
}
