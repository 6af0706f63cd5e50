package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/platform/sandbox"
)

// cheatDay is the simulated day one creator buys likes (or the last day of
// a shorter run); cheatLikes how many.
const (
	cheatDay   = 3
	cheatLikes = 4_000
)

// FraudRow is the demo's cheating creator: the like-farm burst the sandbox
// injected into their post, the flags payper raised in the tick that
// billed it, what those flags held, and the brand's confirmation voiding it.
type FraudRow struct {
	Creator string `json:"creator"`
	Day     int    `json:"day"`
	Likes   int64  `json:"bought_likes"`
	// Flags are the flags raised on the creator: detector and reason.
	Flags []FlagRow `json:"flags"`
	// Held is the gross of the creator's earnings the open flags held
	// before the brand decided; Voided how many earnings the confirmation
	// voided and VoidedGross their gross, back in the escrow.
	Held        money.Amount `json:"held"`
	Voided      int          `json:"voided_earnings"`
	VoidedGross money.Amount `json:"voided_gross"`
	Decision    string       `json:"decision_reason"`
}

// FlagRow is one flag as the brand reads it.
type FlagRow struct {
	Detector string `json:"detector"`
	Severity string `json:"severity"`
	Reason   string `json:"reason"`
}

// cheat has the sandbox's like farm add cheatLikes likes to mb's post at
// once, with hardly any views: bought engagement for the next tick to bill.
func cheat(ctx context.Context, a *app.App, mb *member, seed uint64) error {
	if _, err := a.Sandbox.CheatPost(ctx, mb.post.ID, sandbox.Cheat{Kind: sandbox.CheatLikeFarm, Amount: cheatLikes, Seed: seed}); err != nil {
		return fmt.Errorf("demo: like farm on @%s's post: %w", mb.handle, err)
	}
	return nil
}

// catch reads, after the tick that billed the burst, the flags raised on
// mb in the campaign and what they hold, then confirms them as the brand
// would (engage.DecideFlag, the API's confirm): the held earnings are
// voided, their gross back in the escrow and the fee reversed.
func catch(ctx context.Context, a *app.App, brand identity.Principal, campaignID string, mb *member, day int) (*FraudRow, error) {
	row := &FraudRow{Creator: "@" + mb.handle, Day: day, Likes: cheatLikes, Held: money.New(0, money.EUR), VoidedGross: money.New(0, money.EUR)}
	flags, err := fraud.List(ctx, a.DB.Read(), brand, fraud.Filter{CampaignID: campaignID, CreatorID: mb.p.SubjectID, State: fraud.StateOpen})
	if err != nil {
		return nil, err
	}
	if len(flags) == 0 {
		return row, nil // not caught: Print says so
	}
	held, err := fraud.HeldByCreator(ctx, a.DB.Read(), campaignID)
	if err != nil {
		return nil, err
	}
	if h, ok := held[mb.p.SubjectID]; ok {
		row.Held = h
	}
	var why []string
	for _, f := range flags {
		row.Flags = append(row.Flags, FlagRow{Detector: f.Detector, Severity: f.Severity, Reason: f.Reason})
		why = append(why, f.Detector)
	}
	row.Decision = fmt.Sprintf("bought likes (%s): the sandbox's like farm added %d likes in one poll interval", strings.Join(why, ", "), cheatLikes)
	for _, f := range flags {
		d, err := a.Engage.DecideFlag(ctx, brand, f.ID, fraud.ActionConfirm, row.Decision)
		if err != nil {
			return nil, fmt.Errorf("demo: confirm flag %s: %w", f.ID, err)
		}
		for _, e := range d.Voided {
			if e.State != engage.EarningVoided {
				return nil, fmt.Errorf("demo: earning %s is %s after the confirmation", e.ID, e.State)
			}
			row.Voided++
			if row.VoidedGross, err = row.VoidedGross.Add(e.Gross); err != nil {
				return nil, err
			}
		}
	}
	return row, nil
}

// printFraud writes the cheating creator's part of the summary.
func printFraud(b *strings.Builder, f *FraudRow) {
	if f == nil {
		return
	}
	fmt.Fprintf(b, "\nfraud: %s bought %d likes on day %d (the sandbox's like farm)\n", f.Creator, f.Likes, f.Day)
	if len(f.Flags) == 0 {
		fmt.Fprintf(b, "  not caught: no flag was raised\n")
		return
	}
	for _, fl := range f.Flags {
		fmt.Fprintf(b, "  caught by %s (%s): %s\n", fl.Detector, fl.Severity, fl.Reason)
	}
	fmt.Fprintf(b, "  held for review: %s EUR gross\n", short(f.Held))
	fmt.Fprintf(b, "  confirmed by the brand (%q): %d earning(s) voided, %s EUR back in the escrow, the fee reversed\n",
		f.Decision, f.Voided, short(f.VoidedGross))
}
