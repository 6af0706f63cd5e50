package fraud

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

const sec = int64(1e6)

func TestCTIT(t *testing.T) {
	base := int64(1_800_000_000) * sec
	// Honest: orders 2 to 50 minutes after the click, one code order, one
	// fast buyer (8 s) among 10.
	var honest []Order
	for i := range 10 {
		d := int64(120+i*300) * sec
		if i == 3 {
			d = 8 * sec
		}
		honest = append(honest, Order{OrderID: fmt.Sprint("o", i), ClickedAt: clock.Micros(base), PlacedAt: clock.Micros(base + d)})
	}
	honest = append(honest, Order{OrderID: "code", PlacedAt: clock.Micros(base)})
	soon, n, glut := CTIT(honest, CTITRuleFor(Moderate))
	if len(soon) != 1 || n != 10 || glut {
		t.Errorf("honest: %d soon of %d, glut %v", len(soon), n, glut)
	}
	// Injected: 4 of 6 within 3 s, one at exactly 10 s (not within).
	inj := []Order{{ClickedAt: 1, PlacedAt: 1 + clock.Micros(3*sec)}, {ClickedAt: 1, PlacedAt: 1 + clock.Micros(2*sec)},
		{ClickedAt: 1, PlacedAt: 1 + clock.Micros(9*sec)}, {ClickedAt: 1, PlacedAt: 1 + clock.Micros(5*sec)},
		{ClickedAt: 1, PlacedAt: 1 + clock.Micros(10*sec)}, {ClickedAt: 1, PlacedAt: 1 + clock.Micros(900*sec)}}
	soon, n, glut = CTIT(inj, CTITRuleFor(Moderate))
	if len(soon) != 4 || n != 6 || !glut {
		t.Errorf("injected: %d soon of %d, glut %v", len(soon), n, glut)
	}
	if _, _, glut := CTIT(inj, CTITRuleFor(Relaxed)); glut {
		t.Error("4 too-soon orders a glut at relaxed (at least 5)")
	}
}

func TestRateZ(t *testing.T) {
	if z := rateZ(10, []float64{1, 2, 3, 4, 5}); math.Abs(z-0.6745*7/1) > 1e-9 {
		t.Errorf("z = %v, want 0.6745·(10−3)/1", z)
	}
	// MAD 0: mean absolute deviation instead.
	if z := rateZ(5, []float64{1, 1, 1, 1, 5}); math.Abs(z-4/(1.253314*0.8)) > 1e-9 {
		t.Errorf("z with MAD 0 = %v", z)
	}
	if z := rateZ(1, []float64{1, 1, 1}); z != 0 {
		t.Errorf("z of the constant = %v", z)
	}
	if z := rateZ(0.03, []float64{0.02, 0.02, 0.02}); math.Abs(z-2) > 1e-9 {
		t.Errorf("z above a constant = %v, want 0.01 / 0.005 (the least scale)", z)
	}
	if z := rateZ(0.5, nil); z != 0 {
		t.Errorf("z without history = %v", z)
	}
}

func TestConversionSpike(t *testing.T) {
	r := SpikeRuleFor(Moderate)
	hist := []float64{0.02, 0.025, 0.018, 0.03, 0.022}
	// A viral day: 4,000 billable clicks, 90 orders (2.25 %): no spike.
	if rate, _, spike := ConversionSpike(90, 4000, hist, r); spike || rate != 0.0225 {
		t.Errorf("viral day: rate %v spike %v", rate, spike)
	}
	// Bought orders: 30 orders from 100 clicks.
	rate, z, spike := ConversionSpike(30, 100, hist, r)
	if !spike || rate != 0.3 || z < 3.5 {
		t.Errorf("bought orders: rate %v z %v spike %v", rate, z, spike)
	}
	// No history: the ceiling.
	if _, _, spike := ConversionSpike(6, 30, nil, r); !spike {
		t.Error("6 orders from 30 clicks (20 %) with no history not a spike")
	}
	if _, _, spike := ConversionSpike(6, 60, nil, r); spike {
		t.Error("10 % with no history a spike")
	}
	// Too few orders.
	if _, _, spike := ConversionSpike(4, 5, hist, r); spike {
		t.Error("4 orders judged")
	}
	// A creator whose rate is steady at 12 %: 14 % is no spike, the floor
	// of 8 % keeps small rates out.
	if _, _, spike := ConversionSpike(14, 100, []float64{0.12, 0.11, 0.13, 0.12}, r); spike {
		t.Error("14 % against a steady 12 % a spike")
	}
}

func TestNormalizeEmailAndSelfPurchase(t *testing.T) {
	for in, want := range map[string]string{
		"Ma.Ria+promo@GoogleMail.com": "maria@gmail.com",
		"m.aria@gmail.com":            "maria@gmail.com",
		"ma.ria+x@example.org":        "ma.ria@example.org",
		" Bob@Example.ORG ":           "bob@example.org",
		"+only@example.org":           "+only@example.org",
		"not-an-email":                "not-an-email",
	} {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
	creator := []string{"maria@gmail.com"}
	if why := SelfPurchase(Order{CustomerEmail: "M.aria+shop@gmail.com"}, creator); !strings.Contains(why, "creator's own address") {
		t.Errorf("email match: %q", why)
	}
	if why := SelfPurchase(Order{CustomerEmail: "someone@gmail.com", OrderVisitor: "v1", ClickVisitor: "v1"}, creator); !strings.Contains(why, "same address and browser") {
		t.Errorf("visitor match: %q", why)
	}
	if why := SelfPurchase(Order{CustomerEmail: "someone@gmail.com", OrderVisitor: "v1", ClickVisitor: "v2"}, creator); why != "" {
		t.Errorf("honest order: %q", why)
	}
	if why := SelfPurchase(Order{}, creator); why != "" {
		t.Errorf("an order with nothing known: %q", why)
	}
}

func TestSalesFlags(t *testing.T) {
	from := clock.Micros(1_800_000_000 * sec)
	to := from + clock.Micros(24*3600*sec)
	in := SalesInput{CampaignID: "cmp_1", From: from, To: to,
		Billable:      map[string]int64{"crt_h": 2000, "crt_s": 40, "crt_c": 500},
		History:       map[string][]float64{"crt_h": {0.02, 0.03, 0.025}},
		CreatorEmails: map[string][]string{"crt_s": {"sam.seller@gmail.com"}}}
	for i := range 40 { // honest: 2 %
		at := from + clock.Micros(int64(i)*600*sec)
		in.Orders = append(in.Orders, Order{OrderID: fmt.Sprint("h", i), CreatorID: "crt_h", ClickedAt: at, PlacedAt: at + clock.Micros(400*sec)})
	}
	// crt_s: one self-purchase, 3 orders in 3 s of their clicks, 6 orders in all from 40 clicks (15 %: not above).
	for i := range 6 {
		at := from + clock.Micros(int64(i)*3600*sec)
		d := clock.Micros(2 * sec)
		if i >= 3 {
			d = clock.Micros(1800 * sec)
		}
		o := Order{OrderID: fmt.Sprint("s", i), CreatorID: "crt_s", ClickedAt: at, PlacedAt: at + d}
		if i == 4 {
			o.CustomerEmail = "Sam.Seller+1@gmail.com"
		}
		in.Orders = append(in.Orders, o)
	}
	// crt_c: 100 orders from 500 clicks (20 %), no history.
	for i := range 100 {
		in.Orders = append(in.Orders, Order{OrderID: fmt.Sprint("c", i), CreatorID: "crt_c", PlacedAt: from + clock.Micros(int64(i)*60*sec)})
	}
	fs := SalesFlags(in, Moderate)
	got := map[string]Flag{}
	for _, f := range fs {
		got[f.Detector+" "+f.CreatorID] = f
	}
	if len(fs) != 3 {
		t.Fatalf("flags %v", got)
	}
	sp := got[DetectorSelfPurchase+" crt_s"]
	if sp.SubjectID != "s4" || sp.HoldsFrom != from+clock.Micros(4*3600*sec+1800*sec) || !sp.Holds {
		t.Errorf("self-purchase flag %+v", sp)
	}
	ct := got[DetectorCTIT+" crt_s"]
	if ct.HoldsFrom != from+clock.Micros(2*sec) || ct.Reason != "3 of the 6 orders attributed to this creator's clicks were placed less than 10 seconds after their click (people take minutes: about three in four within the hour)" {
		t.Errorf("CTIT flag %+v", ct)
	}
	cs := got[DetectorConvSpike+" crt_c"]
	if cs.Reason != "100 orders from 500 billable clicks in 24 hours: a conversion rate of 20.0 %, above 15 %" || cs.HoldsFrom != from {
		t.Errorf("spike flag %+v", cs)
	}
	for _, f := range fs {
		if err := validate(f); err != nil {
			t.Errorf("%s: %v", f.Detector, err)
		}
	}
}

func TestSharedDestinations(t *testing.T) {
	got := SharedDestinations(map[string]string{"a": "k1", "b": "k2", "c": "k1", "d": "", "e": ""})
	if len(got) != 1 || strings.Join(got["k1"], ",") != "a,c" {
		t.Errorf("shared %v", got)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fs := SharedDestinationFlags("wise", "0123456789abcdef0123", []string{"crt_a", "crt_c"})
		if len(fs) != 2 || fs[0].Reason != "this creator's wise payout destination is also 1 other creator(s)' (crt_c)" {
			t.Fatalf("flags %+v", fs)
		}
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			_, err := raiseAll(ctx, tx, clock.Micros(time.Now().UnixMicro()), fs)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// Held everywhere, whenever earned; another creator is not.
		if !holds(t, db, "ern_1", "cmp_9", "crt_a", 1) || !holds(t, db, "ern_2", "cmp_1", "crt_c", 5) || holds(t, db, "ern_3", "cmp_1", "crt_b", 5) {
			t.Error("shared-destination flags do not hold as they should")
		}
	})
}

func TestDetectSharedDestinationsTx(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, c := range []string{"crt_a", "crt_b", "crt_c"} {
			if _, err := db.Writer().ExecContext(ctx, `INSERT INTO creators (id, name, created_at) VALUES ($1, $1, 1)`, c); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range [][3]string{{"crt_a", "wise", "k1"}, {"crt_b", "wise", "k1"}, {"crt_c", "wise", "k2"}, {"crt_c", "stripe", "k1"}} {
			if _, err := db.Writer().ExecContext(ctx, `INSERT INTO payout_destinations (creator_id, provider, destination, updated_at, account_key)
				VALUES ($1, $2, 'sealed', 1, $3)`, d[0], d[1], d[2]); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 2 {
			var got []Flag
			if err := db.WithTx(ctx, func(tx *store.Tx) error {
				var err error
				got, err = DetectSharedDestinationsTx(ctx, tx, 100)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if i == 1 {
				if len(got) != 0 {
					t.Errorf("second run raised %d", len(got))
				}
				break
			}
			if len(got) != 2 || got[0].CreatorID != "crt_a" || got[1].CreatorID != "crt_b" || got[0].Subject != SubjectDestination {
				t.Fatalf("flags %+v", got)
			}
		}
		if !holds(t, db, "ern_1", "cmp_1", "crt_b", 1) || holds(t, db, "ern_2", "cmp_1", "crt_c", 1) {
			t.Error("holds wrong: crt_b shares a destination, crt_c does not (the same key at another provider is another account)")
		}
	})
}
