package payout_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/errs"
	"pgregory.net/rapid"

	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/store/storetest"
)

// TestOperatorSettlesStuckPayout (issue 14): a provider payout that stopped
// retrying with its transfer's fate unknown stays processing; the operator
// settles it by hand through MarkManual — refused (409 payout_in_flight)
// while an attempt is pending or before Config.SettleAfter, and without a
// reason (400) — paid posts the hold, failed voids it (the money available
// again), to the micro-unit, recorded, and a late webhook changes nothing.
func TestOperatorSettlesStuckPayout(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 100*eur+4_567)
		w.withService(payout.Config{MaxAttempts: 2, RetryBackoff: time.Minute, RetryBackoffMax: time.Minute, SettleAfter: 48 * time.Hour})
		w.payToWise(t)
		run := func() {
			t.Helper()
			if _, err := w.svc.Process(w.ctx); err != nil {
				t.Fatal(err)
			}
		}
		mark := func(id, state, reason string) (payout.Payout, error) {
			return w.svc.MarkManual(w.ctx, w.admin, id, state, reason)
		}

		// p1: Wise answers 503 twice, having made the transfer.
		w.prov.unavailable, w.prov.refOnErr = 2, true
		p1, err := w.svc.RequestPayout(w.ctx, w.creator, req("40", payout.ProviderWise))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mark(p1.ID, payout.StatePaid, "seen in Wise"); errs.CodeOf(err) != "not_markable" || errs.KindOf(err) != errs.Conflict {
			t.Fatalf("marking a requested payout: %v", err)
		}
		run()
		if _, err := mark(p1.ID, payout.StatePaid, "seen in Wise"); errs.CodeOf(err) != "payout_in_flight" || errs.KindOf(err) != errs.Conflict {
			t.Fatalf("marking a payout whose retry is pending: %v", err)
		}
		w.env.Clock.Advance(time.Minute)
		run()
		stuck := w.payout(t, p1.ID)
		if stuck.State != payout.StateProcessing || stuck.Attempts != 2 || stuck.ProviderRef != "tr-"+p1.ID || !strings.Contains(stuck.Reason, "stopped retrying") {
			t.Fatalf("after the retries: %+v", stuck)
		}
		if _, err := mark(p1.ID, payout.StatePaid, "  "); !fieldErr(err, "required", "reason") {
			t.Fatalf("no reason: %v", err)
		}
		if _, err := w.svc.MarkManual(w.ctx, w.creator, p1.ID, payout.StatePaid, "x"); errs.KindOf(err) != errs.Forbidden {
			t.Fatalf("a creator key marking: %v", err)
		}
		if b := w.balance(t); b.Available != 60*eur+4_567 || b.PendingPayout != 40*eur || b.PaidOut != 0 {
			t.Fatalf("refused marks changed the balance: %+v", b)
		}
		got, err := mark(p1.ID, payout.StatePaid, "Wise shows transfer tr-"+p1.ID+" sent on 2 Nov")
		if err != nil {
			t.Fatal(err)
		}
		if got.State != payout.StatePaid || got.Reason != "settled by the operator: Wise shows transfer tr-"+p1.ID+" sent on 2 Nov" || got.ResolvedAt == 0 {
			t.Fatalf("settled paid: %+v", got)
		}
		if b := w.balance(t); b.Available != 60*eur+4_567 || b.PendingPayout != 0 || b.PaidOut != 40*eur {
			t.Fatalf("after settling paid: %+v", b)
		}
		w.audit(t)
		var state, reason, ref string
		if err := w.env.App.DB.Read().QueryRowContext(w.ctx, `SELECT state, reason, provider_ref FROM payout_settlements WHERE payout_id = $1`, p1.ID).
			Scan(&state, &reason, &ref); err != nil || state != payout.StatePaid || ref != "tr-"+p1.ID || !strings.HasPrefix(reason, "Wise shows") {
			t.Fatalf("settlement record: %q %q %q %v", state, reason, ref, err)
		}
		if _, err := mark(p1.ID, payout.StateFailed, "again"); errs.CodeOf(err) != "not_markable" {
			t.Fatalf("settling twice: %v", err)
		}

		// p2: sent, Wise's webhook never comes. Before SettleAfter it may
		// still: refused; after it, settled failed and the money is back.
		p2, err := w.svc.RequestPayout(w.ctx, w.creator, req("25.50", payout.ProviderWise))
		if err != nil {
			t.Fatal(err)
		}
		run()
		if p := w.payout(t, p2.ID); p.State != payout.StateProcessing || p.ProviderRef != "tr-"+p2.ID {
			t.Fatalf("sent: %+v", p)
		}
		w.env.Clock.Advance(47 * time.Hour)
		_, err = mark(p2.ID, payout.StateFailed, "Wise says it bounced")
		if errs.CodeOf(err) != "payout_in_flight" || !strings.Contains(err.Error(), "2026-11-03T09:01:00Z") {
			t.Fatalf("before SettleAfter: %v", err)
		}
		w.env.Clock.Advance(time.Hour)
		if got, err := mark(p2.ID, payout.StateFailed, "Wise says it bounced"); err != nil || got.State != payout.StateFailed {
			t.Fatalf("settled failed: %+v, %v", got, err)
		}
		if b := w.balance(t); b.Available != 60*eur+4_567 || b.PendingPayout != 0 || b.PaidOut != 40*eur {
			t.Fatalf("after settling failed: %+v", b)
		}
		// Wise's webhook arrives after all: the payout stays as settled.
		if err := w.hook(t, `{"id":"ev-late","ref":"tr-`+p2.ID+`","state":"paid"}`); err != nil {
			t.Fatal(err)
		}
		if p := w.payout(t, p2.ID); p.State != payout.StateFailed {
			t.Fatalf("a late webhook changed a settled payout: %+v", p)
		}
		if b := w.balance(t); b.Available != 60*eur+4_567 || b.PaidOut != 40*eur {
			t.Fatalf("a late webhook moved money: %+v", b)
		}
		w.audit(t)
	})
}

// TestSettleRacesWebhook: the operator settling a stuck payout while the
// provider's webhook for it arrives, again and again: each payout ends
// paid or failed exactly once, the ledger agrees with it to the micro-unit,
// and the audit passes. Both stores.
func TestSettleRacesWebhook(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 200*eur+4_567)
		w.withService(payout.Config{SettleAfter: time.Hour})
		w.payToWise(t)
		const n = 8
		var ids []string
		for range n {
			p, err := w.svc.RequestPayout(w.ctx, w.creator, req("10", payout.ProviderWise))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, p.ID)
		}
		if sent, err := w.svc.Process(w.ctx); err != nil || sent != n {
			t.Fatalf("Process: %d, %v", sent, err)
		}
		w.env.Clock.Advance(2 * time.Hour)
		var wg sync.WaitGroup
		for i, id := range ids {
			markState, hookState := payout.StatePaid, payout.StateFailed
			if i%2 == 1 {
				markState, hookState = payout.StateFailed, payout.StatePaid
			}
			wg.Go(func() {
				if _, err := w.svc.MarkManual(w.ctx, identity.Principal{Role: identity.RoleAdmin, KeyID: "key_ops"}, id, markState, "checked at Wise"); err != nil &&
					errs.CodeOf(err) != "not_markable" {
					t.Errorf("mark %s: %v", id, err)
				}
			})
			for k := range 2 {
				wg.Go(func() {
					if err := w.hook(t, `{"id":"ev-`+id+`-`+string(rune('a'+k))+`","ref":"tr-`+id+`","state":"`+hookState+`"}`); err != nil {
						t.Errorf("hook %s: %v", id, err)
					}
				})
			}
		}
		wg.Wait()
		var paid int64
		for _, id := range ids {
			p := w.payout(t, id)
			switch p.State {
			case payout.StatePaid:
				paid += p.Amount.Micros
			case payout.StateFailed:
			default:
				t.Fatalf("payout %s ended %s", id, p.State)
			}
		}
		if b := w.balance(t); b.PaidOut != paid || b.PendingPayout != 0 || b.Available != 200*eur+4_567-paid {
			t.Fatalf("balance %+v; %d paid", b, paid)
		}
		w.audit(t)
	})
}

// fieldErr reports whether err is an Invalid error with code on field.
func fieldErr(err error, code, field string) bool {
	var e *errs.Error
	return errors.As(err, &e) && e.Kind == errs.Invalid && e.Code == code && e.Field == field
}

// TestSettlementProperty: random interleavings of what can happen to a
// payout sent to its provider whose webhook is late — time passing, the
// operator settling it paid or failed (refused while it may be in flight),
// the provider's webhook saying paid, failed or (partly) reversed, and
// redeliveries — keep the ledger right to the micro-unit: the creator's
// money is conserved (available + pending + paid out), pending is what
// the unsettled payouts hold, paid out what the paid ones kept after
// reversals, and the audit passes. Both stores.
func TestSettlementProperty(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 10_000*eur+4_567)
		w.withService(payout.Config{SettleAfter: time.Hour})
		total := w.balance(t).Available
		w.payToWise(t)
		type model struct {
			amount, reversed int64
			state            string
		}
		payouts := map[string]*model{}
		events, iter := 0, 0
		rapid.Check(t, func(rt *rapid.T) {
			if raceEnabled && iter >= 40 { // rapid's checks beyond the first 40 do nothing under -race
				return
			}
			iter++
			cents := rapid.Int64Range(1_000, 5_000).Draw(rt, "cents")
			p, err := w.svc.RequestPayout(w.ctx, w.creator, req(money.FormatMicros(cents*10_000), payout.ProviderWise))
			if err != nil {
				rt.Fatal(err)
			}
			if _, err := w.svc.Process(w.ctx); err != nil {
				rt.Fatal(err)
			}
			m := &model{amount: cents * 10_000, state: payout.StateProcessing}
			payouts[p.ID] = m
			var last string
			for _, step := range rapid.SliceOfN(rapid.IntRange(0, 6), 1, 8).Draw(rt, "steps") {
				switch step {
				case 0:
					w.env.Clock.Advance(time.Duration(rapid.IntRange(1, 90).Draw(rt, "minutes")) * time.Minute)
				case 1, 2:
					state := payout.StatePaid
					if step == 2 {
						state = payout.StateFailed
					}
					got, err := w.svc.MarkManual(w.ctx, w.admin, p.ID, state, "checked at Wise")
					switch {
					case err == nil:
						if m.state != payout.StateProcessing {
							rt.Fatalf("marked a %s payout", m.state)
						}
						m.state = got.State
					case errs.CodeOf(err) == "not_markable" && m.state != payout.StateProcessing:
					case errs.CodeOf(err) == "payout_in_flight" && m.state == payout.StateProcessing:
					default:
						rt.Fatalf("mark %s (model %s): %v", state, m.state, err)
					}
				case 3, 4:
					state := payout.StatePaid
					if step == 4 {
						state = payout.StateFailed
					}
					events++
					last = fmt.Sprintf(`{"id":"ev-%d","ref":"tr-%s","state":"%s"}`, events, p.ID, state)
					if err := w.hook(t, last); err != nil {
						rt.Fatal(err)
					}
					if m.state == payout.StateProcessing {
						m.state = state
					}
				case 5:
					part := rapid.Int64Range(0, m.amount/10_000).Draw(rt, "reversed cents") * 10_000
					events++
					amount := ""
					if part > 0 {
						amount = fmt.Sprintf(`,"amount":{"amount":"%s","currency":"EUR"}`, money.FormatMicros(part))
					}
					last = fmt.Sprintf(`{"id":"ev-%d","ref":"tr-%s","state":"reversed"%s}`, events, p.ID, amount)
					if err := w.hook(t, last); err != nil {
						rt.Fatal(err)
					}
					switch m.state {
					case payout.StateProcessing:
						m.state = payout.StateFailed
					case payout.StatePaid:
						if part == 0 || m.reversed+part >= m.amount {
							m.reversed, m.state = m.amount, payout.StateReversed
						} else {
							m.reversed += part
						}
					}
				case 6:
					if last != "" {
						if err := w.hook(t, last); err != nil {
							rt.Fatal(err)
						}
					}
				}
				if got := w.payout(t, p.ID); got.State != m.state {
					rt.Fatalf("payout %s, model says %s", got.State, m.state)
				}
			}
			var pending, paidOut int64
			for _, m := range payouts {
				switch m.state {
				case payout.StateProcessing:
					pending += m.amount
				case payout.StatePaid, payout.StateReversed:
					paidOut += m.amount - m.reversed
				}
			}
			b := w.balance(t)
			if b.PendingPayout != pending || b.PaidOut != paidOut || b.Available+b.PendingPayout+b.PaidOut != total {
				rt.Fatalf("balance %+v; model: pending %d, paid out %d, total %d", b, pending, paidOut, total)
			}
			w.audit(t)
		})
	})
}
