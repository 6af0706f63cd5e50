package main

import (
	"bytes"

	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/payper/payper/internal/payout/wise"
	"github.com/payper/payper/internal/store/storetest"
)

// TestPayoutsEndToEnd: over HTTP on both stores, a creator's engagement
// earnings are released, a payout below the minimum is refused, the creator
// sets a Wise recipient and withdraws all of it in whole cents (the sub-cent
// rest stays); the job queue sends it through Wise (the fake: quote,
// recipient, transfer, funding), Wise's signed state change pays it (a
// redelivery changes nothing), and a manual payout is exported and marked
// failed, its money back to available.
func TestPayoutsEndToEnd(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		fake := wise.NewFake("wise-token", 4242)
		fake.SetBalance("EUR", 1_000_000_000)
		ws := httptest.NewServer(fake)
		defer ws.Close()
		base := startServerEnv(t, dbURL, map[string]string{"PAYPER_WISE_API_TOKEN": "wise-token", "PAYPER_WISE_PROFILE_ID": "4242",
			"PAYPER_WISE_WEBHOOK_PUBLIC_KEY": fake.PublicKeyPEM(), "PAYPER_WISE_API_URL": ws.URL,
			"PAYPER_POLL_INTERVAL": "1s", "PAYPER_HOLDING_PERIOD": "1s"})
		c := client{t: t, base: base}
		w := buildPPIWorld(t, c, adminToken, time.Now().UTC(), func(time.Duration) { time.Sleep(1100 * time.Millisecond) }, nil)
		tick := func() {
			time.Sleep(1100 * time.Millisecond)
			c.must(200, "POST", "/v1/admin/engagement/tick", adminToken, "")
		}
		balOf := func(h string) map[string]any {
			t.Helper()
			bs := c.must(200, "GET", "/v1/creators/"+w.ids[h]+"/balances", w.creators[h], "")["balances"].([]any)
			if len(bs) == 0 {
				return map[string]any{"available": map[string]any{"amount": "0"}}
			}
			return bs[0].(map[string]any)
		}
		bal := func() map[string]any { return balOf("ana") }
		// dismissFlags dismisses every open fraud flag: the test's likes
		// jump in one poll with no views, which the fraud detectors rightly
		// flag (holding the earning); the operator's review lets it release.
		dismissFlags := func() {
			t.Helper()
			for _, f := range c.must(200, "GET", "/v1/fraud/flags?state=open", adminToken, "")["data"].([]any) {
				c.must(200, "POST", "/v1/fraud/flags/"+str(f.(map[string]any), "id")+"/dismiss", adminToken, `{"reason":"the payout test's own likes"}`)
			}
		}
		// untilAvailable ticks (each after the 1 s poll interval and holding
		// period) until h's available balance is want: billing and release
		// run on the queue, so under load they may take a tick more.
		untilAvailable := func(h string, want int64) {
			t.Helper()
			for range 8 {
				tick()
				dismissFlags()
				if micros(t, balOf(h), "available") == want {
					return
				}
			}
			t.Fatalf("%s's available balance is %v, want %d", h, balOf(h), want)
		}
		tick() // first reads set the marks
		// 333 likes × 0.05 = 16.65 gross; ana keeps 90 %: 14.985.
		c.must(200, "POST", "/sandbox/driver/posts/"+w.posts["ana"]+"/counts", adminToken, `{"likes":333}`)
		untilAvailable("ana", 14_985_000)
		ana := w.creators["ana"]
		c.fails(400, "below_minimum", "amount.amount", "POST", "/v1/creator/payouts", ana, `{"amount":{"amount":"9.99","currency":"EUR"},"provider":"manual"}`)
		c.fails(400, "no_destination", "provider", "POST", "/v1/creator/payouts", ana, `{"all":true,"currency":"EUR","provider":"wise"}`)
		c.fails(400, "invalid_fields", "destination.holderName", "PUT", "/v1/creator/payout_destinations/wise", ana,
			`{"destination":{"currency":"EUR","holderName":"","iban":"DE00370400440532013000"}}`)
		c.must(200, "PUT", "/v1/creator/payout_destinations/wise", ana, `{"destination":{"currency":"EUR","holderName":"Ana Example","iban":"DE89370400440532013000"}}`)
		po := c.must(201, "POST", "/v1/creator/payouts", ana, `{"all":true,"currency":"EUR","provider":"wise"}`)
		if micros(t, po, "amount") != 14_980_000 || po["state"] != "requested" {
			t.Fatalf("payout %v, want 14.98 requested", po)
		}
		if b := bal(); micros(t, b, "available") != 5_000 || micros(t, b, "pending_payout") != 14_980_000 {
			t.Fatalf("balance %v", b)
		}
		tick() // the queue sends it
		trs := fake.Transfers()
		if len(trs) != 1 || trs[0].Micros != 14_980_000 || trs[0].Fundings != 1 {
			t.Fatalf("wise transfers %+v; payouts %s; wise saw %v", trs, c.do("GET", "/v1/creator/payouts", ana, "").Raw, fake.Requests())
		}
		list := c.must(200, "GET", "/v1/creator/payouts", ana, "")["data"].([]any)
		if p := list[0].(map[string]any); p["state"] != "processing" || p["provider_ref"] != strconv.FormatInt(trs[0].ID, 10) {
			t.Fatalf("after sending %v", p)
		}
		body, h := fake.Webhook(strconv.FormatInt(trs[0].ID, 10), "outgoing_payment_sent")
		deliver := func(b []byte, h http.Header) int {
			req, _ := http.NewRequest("POST", base+"/webhooks/payouts/wise", bytes.NewReader(b))
			req.Header = h.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		tampered := bytes.Replace(body, []byte("outgoing_payment_sent"), []byte("funds_refunded"), 1)
		if st := deliver(tampered, h); st != 401 {
			t.Fatalf("tampered webhook answered %d", st)
		}
		for range 2 {
			if st := deliver(body, h); st != 200 {
				t.Fatalf("webhook answered %d", st)
			}
		}
		if b := bal(); micros(t, b, "paid_out") != 14_980_000 || micros(t, b, "pending_payout") != 0 || micros(t, b, "available") != 5_000 {
			t.Fatalf("after paid %v", b)
		}
		// A second Wise payout that Wise refunds: failed, money back.
		c.must(200, "POST", "/sandbox/driver/posts/"+w.posts["ana"]+"/counts", adminToken, `{"likes":300}`)
		untilAvailable("ana", 13_505_000)
		po2 := c.must(201, "POST", "/v1/creator/payouts", ana, `{"amount":{"amount":"12.50","currency":"EUR"},"provider":"wise"}`)
		tick()
		trs = fake.Transfers()
		if len(trs) != 2 {
			t.Fatalf("wise transfers %+v", trs)
		}
		body, h = fake.Webhook(strconv.FormatInt(trs[1].ID, 10), "funds_refunded")
		if st := deliver(body, h); st != 200 {
			t.Fatalf("refund webhook answered %d", st)
		}
		for _, p := range c.must(200, "GET", "/v1/creator/payouts", ana, "")["data"].([]any) {
			if m := p.(map[string]any); m["id"] == str(po2, "id") && (m["state"] != "failed" || m["reason"] != "funds_refunded") {
				t.Errorf("refunded payout %v", m)
			}
		}
		// 0.005 + 300 × 0.05 × 0.9 = 13.505 available again; 14.98 paid out.
		if b := bal(); micros(t, b, "available") != 13_505_000 || micros(t, b, "paid_out") != 14_980_000 || micros(t, b, "pending_payout") != 0 {
			t.Fatalf("after a refunded payout %v", b)
		}
		// ben: a manual payout, exported, then marked failed: money back.
		c.must(200, "POST", "/sandbox/driver/posts/"+w.posts["ben"]+"/counts", adminToken, `{"likes":300}`)
		untilAvailable("ben", 13_500_000)
		ben := w.creators["ben"]
		mp := c.must(201, "POST", "/v1/creator/payouts", ben, `{"amount":{"amount":"10","currency":"EUR"}}`)
		r := c.do("POST", "/v1/admin/payouts/manual_export", adminToken, "")
		if r.Status != 200 || !bytes.Contains([]byte(r.Raw), []byte(str(mp, "id")+","+w.ids["ben"]+",10.000000,EUR")) {
			t.Fatalf("export %d %s", r.Status, r.Raw)
		}
		c.fails(403, "forbidden", "", "POST", "/v1/admin/payouts/manual_export", ben, "")
		c.fails(400, "required", "reason", "POST", "/v1/admin/payouts/"+str(mp, "id")+"/mark", adminToken, `{"state":"failed"}`)
		c.must(200, "POST", "/v1/admin/payouts/"+str(mp, "id")+"/mark", adminToken, `{"state":"failed","reason":"IBAN closed"}`)
		bb := c.must(200, "GET", "/v1/creators/"+w.ids["ben"]+"/balances", ben, "")["balances"].([]any)[0].(map[string]any)
		if micros(t, bb, "available") != 13_500_000 || micros(t, bb, "paid_out") != 0 {
			t.Fatalf("ben after a failed manual payout %v", bb)
		}
		all := c.must(200, "GET", "/v1/admin/payouts?state=paid", adminToken, "")["data"].([]any)
		if len(all) != 1 {
			t.Fatalf("paid payouts %v", all)
		}
	})
}
