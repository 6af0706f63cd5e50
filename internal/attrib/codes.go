package attrib

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/commerce"
	"github.com/payper/payper/internal/commerce/shopify"
	"github.com/payper/payper/internal/commerce/woocommerce"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store"
)

// Where a code lives.
const (
	SourceShopify     = "shopify"
	SourceWooCommerce = "woocommerce"
	SourceSandbox     = "sandbox"
	SourceManual      = "manual"
)

// Code limits.
const (
	MinCodeLen = 3
	MaxCodeLen = 32
	// codeAttempts is how many codes CreateCode tries before giving up on
	// collisions.
	codeAttempts = 6
)

// Code is a creator's discount code in a campaign.
type Code struct {
	ID         string `json:"id"`
	CampaignID string `json:"campaign_id"`
	CreatorID  string `json:"creator_id"`
	Code       string `json:"code"`
	// Source is where the code lives: shopify, woocommerce, sandbox or
	// manual (entered by hand).
	Source     string `json:"source"`
	StoreID    string `json:"store_id,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
	// PercentBps or AmountOff is the discount the code gives.
	PercentBps int64         `json:"percent_bps,omitempty"`
	AmountOff  *money.Amount `json:"amount_off,omitempty"`
	CreatedAt  clock.Micros  `json:"created_at"`
}

// CodeDraft asks for a creator's code in a campaign: made from the
// campaign's pattern in the store StoreID, or, when Code is given, a code the
// brand made by hand (StoreID then optional, for the record).
type CodeDraft struct {
	CreatorID string `json:"creator_id"`
	StoreID   string `json:"store_id"`
	Code      string `json:"code"`
}

const codeCols = `id, campaign_id, creator_id, code, source, store_id, external_id, percent_bps, amount_off, created_at`

func scanCode(cur money.Currency) func(store.Scanner) (Code, error) {
	return func(r store.Scanner) (Code, error) {
		var c Code
		var off int64
		err := r.Scan(&c.ID, &c.CampaignID, &c.CreatorID, &c.Code, &c.Source, &c.StoreID, &c.ExternalID, &c.PercentBps, &off, &c.CreatedAt)
		if off > 0 {
			a := money.New(off, cur)
			c.AmountOff = &a
		}
		return c, err
	}
}

// ValidCode reports whether code can be a discount code: MinCodeLen to
// MaxCodeLen letters, digits, '-' or '_'.
func ValidCode(code string) bool {
	if len(code) < MinCodeLen || len(code) > MaxCodeLen {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// CreateCode gives a creator accepted in a campaign of the brand p acts for
// their discount code. With d.Code empty the code is made from the
// campaign's code pattern and created in the store d.StoreID through its API
// (Shopify, WooCommerce or the sandbox); a code already taken — by another
// creator of the brand or in the store — is replaced by another from the
// pattern (a random suffix is added when the pattern has no {RANDn}). With
// d.Code set, the code is recorded as entered by hand. Codes are matched
// case-insensitively. It returns NotFound for a campaign p may not see,
// Invalid for bad fields (a creator not accepted, a store without API
// credentials, a bad code), Conflict code_exists when the creator already
// has a code in the campaign and code_taken for a hand-made code another
// creator of the brand has, and Unavailable when the store cannot be
// reached. Nothing is recorded on error.
func (s *Service) CreateCode(ctx context.Context, p identity.Principal, campaignID string, d CodeDraft) (Code, error) {
	if p.BrandID() == "" && !p.IsAdmin() {
		return Code{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	camp, err := s.Campaigns.Get(ctx, p, campaignID)
	if err != nil {
		return Code{}, err
	}
	d.CreatorID, d.StoreID, d.Code = strings.TrimSpace(d.CreatorID), strings.TrimSpace(d.StoreID), strings.TrimSpace(d.Code)
	var c errs.Collector
	if d.CreatorID == "" {
		c.Addf("creator_id", "required", "creator_id is required")
	}
	if d.Code != "" && !ValidCode(d.Code) {
		c.Addf("code", "invalid", "a code is %d to %d letters, digits, '-' or '_'", MinCodeLen, MaxCodeLen)
	}
	if d.Code == "" && d.StoreID == "" {
		c.Addf("store_id", "required", "give the store to make the code in, or the code you made by hand")
	}
	if camp.State == campaign.StateClosed {
		c.Addf("campaign_id", "campaign_closed", "campaign %s is closed", camp.ID)
	}
	if err := c.Err(); err != nil {
		return Code{}, err
	}
	if _, err := s.Market.Accepted(ctx, s.DB.Read(), camp.ID, d.CreatorID); err != nil {
		if errs.Is(err, errs.NotFound) {
			return Code{}, errs.Invalidf("creator_id", "not_accepted", "creator %s is not accepted in campaign %s", d.CreatorID, camp.ID)
		}
		return Code{}, err
	}
	if err := s.noCodeYet(ctx, camp.ID, d.CreatorID); err != nil {
		return Code{}, err
	}
	var perf campaign.Performance
	if camp.Setup != nil {
		perf = camp.Setup.Performance
	}
	pct, off := perf.Discount()
	code := Code{ID: id.New(CodePrefix), CampaignID: camp.ID, CreatorID: d.CreatorID, StoreID: d.StoreID,
		PercentBps: pct, CreatedAt: clock.MicrosOf(s.Clock.Now())}
	if off > 0 {
		a := money.New(off, camp.Currency)
		code.AmountOff = &a
	}
	var access orders.StoreAccess
	if d.StoreID != "" {
		if access, err = s.Orders.Access(ctx, s.DB.Read(), camp.BrandID, d.StoreID); err != nil {
			if errs.Is(err, errs.NotFound) {
				return Code{}, errs.Invalidf("store_id", "unknown_store", "store %s not found", d.StoreID)
			}
			return Code{}, err
		}
	}
	if d.Code != "" {
		code.Code, code.Source = d.Code, SourceManual
		return code, s.insertCode(ctx, camp.BrandID, code, true)
	}
	if !access.HasAPI {
		return Code{}, errs.Invalidf("store_id", "store_has_no_api",
			"store %s was connected without API credentials, so payper cannot make codes in it: enter the code by hand", d.StoreID)
	}
	maker, err := s.Makers(access)
	if err != nil {
		return Code{}, err
	}
	code.Source = access.Platform
	if access.Sandbox {
		code.Source = SourceSandbox
	}
	pattern := perf.CodePattern
	if pattern == "" {
		pattern = campaign.DefaultCodePattern
	}
	sums, err := s.Creators.Summaries(ctx, s.DB.Read(), []string{d.CreatorID})
	if err != nil {
		return Code{}, fmt.Errorf("attrib: read creator: %w", err)
	}
	parts := codeParts{handle: sums[d.CreatorID].Handle(), campaign: links.CampaignSlug(camp.Name), percentBps: pct, amountOff: off}
	for attempt := 0; attempt < codeAttempts; attempt++ {
		code.Code = parts.make(pattern, attempt)
		if !ValidCode(code.Code) {
			return Code{}, errs.Invalidf("performance.code_pattern", "invalid_code",
				"the code pattern makes %q for this creator, which is not %d to %d letters, digits, '-' or '_'", code.Code, MinCodeLen, MaxCodeLen)
		}
		if taken, err := s.codeTaken(ctx, camp.BrandID, code.Code); err != nil {
			return Code{}, err
		} else if taken {
			continue
		}
		dsc := commerce.Discount{Code: code.Code, Title: "payper: " + camp.Name + " — " + parts.handle, PercentBps: pct, AmountOff: off,
			Currency: string(camp.Currency), StartsAt: s.Clock.Now().UTC()}
		if camp.Setup != nil {
			dsc.EndsAt = camp.Setup.EndsAt.Add(perf.Window())
		}
		// Reserve the code here first, so a concurrent request (for this
		// creator, or another creator who drew the same code) is refused
		// before anything is made in the store, where a code payper does
		// not know of would go unattributed.
		err := s.insertCode(ctx, camp.BrandID, code, false)
		if errs.CodeOf(err) == "code_taken" {
			continue // another creator of the brand got it meanwhile
		}
		if err != nil {
			return Code{}, err
		}
		created, err := maker.CreateCode(ctx, dsc)
		if err != nil {
			if derr := s.dropCode(ctx, code.ID); derr != nil {
				return Code{}, errors.Join(storeError(d.StoreID, err), derr)
			}
			if errors.Is(err, commerce.ErrCodeTaken) {
				continue
			}
			return Code{}, storeError(d.StoreID, err)
		}
		code.ExternalID = created.ExternalID
		if _, err := s.DB.Writer().ExecContext(ctx, `UPDATE discount_codes SET external_id = $1 WHERE id = $2`, code.ExternalID, code.ID); err != nil {
			return Code{}, fmt.Errorf("attrib: record the store's id of code %s (made in the store as %s): %w", code.Code, code.ExternalID, err)
		}
		return code, nil
	}
	return Code{}, errs.Conflictf("code_collision", "%d codes from the pattern were all taken: change performance.code_pattern or enter a code by hand", codeAttempts)
}

// storeError turns a store client's error into payper's.
func storeError(storeID string, err error) error {
	switch {
	case errors.Is(err, commerce.ErrUnauthorized):
		return &errs.Error{Kind: errs.Invalid, Code: "store_unauthorized", Field: "store_id",
			Message: fmt.Sprintf("store %s refused payper's credentials (or they lack the discount scope): reconnect it", storeID), Err: err}
	case errors.Is(err, commerce.ErrThrottled):
		return &errs.Error{Kind: errs.Unavailable, Code: "store_throttled",
			Message: fmt.Sprintf("store %s is throttling payper: try again in a minute", storeID), Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return &errs.Error{Kind: errs.Unavailable, Code: "store_error", Message: fmt.Sprintf("store %s did not make the code: %v", storeID, err), Err: err}
}

// dropCode removes a code reserved for a store that did not make it.
func (s *Service) dropCode(ctx context.Context, codeID string) error {
	if _, err := s.DB.Writer().ExecContext(ctx, `DELETE FROM discount_codes WHERE id = $1`, codeID); err != nil {
		return fmt.Errorf("attrib: release reserved code %s: %w", codeID, err)
	}
	return nil
}

func (s *Service) noCodeYet(ctx context.Context, campaignID, creatorID string) error {
	var n int
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM discount_codes WHERE campaign_id = $1 AND creator_id = $2`,
		campaignID, creatorID).Scan(&n); err != nil {
		return fmt.Errorf("attrib: check code: %w", err)
	}
	if n > 0 {
		return errs.Conflictf("code_exists", "creator %s already has a code in campaign %s", creatorID, campaignID)
	}
	return nil
}

func (s *Service) codeTaken(ctx context.Context, brandID, code string) (bool, error) {
	var n int
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM discount_codes WHERE brand_id = $1 AND code_key = $2`,
		brandID, strings.ToUpper(code)).Scan(&n); err != nil {
		return false, fmt.Errorf("attrib: check code: %w", err)
	}
	return n > 0, nil
}

// insertCode records code; a code key or (campaign, creator) already taken
// is a Conflict (code_taken or code_exists).
func (s *Service) insertCode(ctx context.Context, brandID string, c Code, manual bool) error {
	var off int64
	if c.AmountOff != nil {
		off = c.AmountOff.Micros
	}
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		var byKey, byCreator int
		if err := tx.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM discount_codes WHERE brand_id = $1 AND code_key = $2),
			(SELECT COUNT(*) FROM discount_codes WHERE campaign_id = $3 AND creator_id = $4)`,
			brandID, strings.ToUpper(c.Code), c.CampaignID, c.CreatorID).Scan(&byKey, &byCreator); err != nil {
			return err
		}
		if byCreator > 0 {
			return errs.Conflictf("code_exists", "creator %s already has a code in campaign %s", c.CreatorID, c.CampaignID)
		}
		if byKey > 0 {
			e := errs.Conflictf("code_taken", "code %s is already another creator's code at this brand (codes match regardless of case)", c.Code)
			if manual {
				e.Field = "code"
			}
			return e
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO discount_codes (id, brand_id, campaign_id, creator_id, code, code_key, source, store_id,
			external_id, percent_bps, amount_off, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			c.ID, brandID, c.CampaignID, c.CreatorID, c.Code, strings.ToUpper(c.Code), c.Source, c.StoreID, c.ExternalID, c.PercentBps, off, c.CreatedAt)
		if store.IsUniqueViolation(err) {
			return fmt.Errorf("attrib: code raced: %w", store.ErrRetry)
		}
		return err
	})
	if err != nil && errs.KindOf(err) == errs.Internal {
		return fmt.Errorf("attrib: record code: %w", err)
	}
	return err
}

// ListCodes returns a campaign's codes, oldest first: all of them for its
// brand or the admin, their own for a creator accepted in it.
func (s *Service) ListCodes(ctx context.Context, p identity.Principal, campaignID string) ([]Code, error) {
	camp, creatorID, err := s.visible(ctx, p, campaignID)
	if err != nil {
		return nil, err
	}
	out, err := store.QueryAll(ctx, s.DB.Read(), scanCode(camp.Currency), `SELECT `+codeCols+` FROM discount_codes
		WHERE campaign_id = $1 AND ($2 = '' OR creator_id = $2) ORDER BY id`, camp.ID, creatorID)
	if err != nil {
		return nil, fmt.Errorf("attrib: list codes: %w", err)
	}
	return out, nil
}

// visible returns the campaign and, for a creator, their id (which limits
// what they see); NotFound when p may not see the campaign.
func (s *Service) visible(ctx context.Context, p identity.Principal, campaignID string) (campaign.Campaign, string, error) {
	if c := p.CreatorID(); c != "" {
		if _, err := s.Market.Accepted(ctx, s.DB.Read(), campaignID, c); err != nil {
			return campaign.Campaign{}, "", err
		}
		camp, err := s.Campaigns.Internal(ctx, s.DB.Read(), campaignID)
		return camp, c, err
	}
	camp, err := s.Campaigns.Get(ctx, p, campaignID)
	return camp, "", err
}

// codeParts are what a code pattern's placeholders stand for.
type codeParts struct {
	handle, campaign      string
	percentBps, amountOff int64
}

// codeAlphabet has no 0/O or 1/I, which customers mistype.
const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func randomCode(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// alnumUpper keeps the letters and digits of s, upper-cased, at most max.
func alnumUpper(s string, max int) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if (r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') && b.Len() < max {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// make fills the pattern in; attempts after the first draw new random parts
// and, when the pattern has none, add a random suffix.
func (p codeParts) make(pattern string, attempt int) string {
	var b strings.Builder
	random := false
	for i := 0; i < len(pattern); {
		if pattern[i] != '{' {
			b.WriteByte(pattern[i])
			i++
			continue
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			b.WriteString(pattern[i:])
			break
		}
		switch ph := strings.ToUpper(pattern[i : i+j+1]); {
		case ph == "{HANDLE}":
			b.WriteString(alnumUpper(p.handle, 12))
		case ph == "{CAMPAIGN}":
			b.WriteString(alnumUpper(p.campaign, 10))
		case ph == "{PERCENT}":
			if p.amountOff > 0 {
				b.WriteString(strconv.FormatInt(p.amountOff/1_000_000, 10))
			} else {
				b.WriteString(strconv.FormatInt(p.percentBps/100, 10))
			}
		case strings.HasPrefix(ph, "{RAND"):
			n, _ := strconv.Atoi(ph[5 : len(ph)-1])
			b.WriteString(randomCode(n))
			random = true
		}
		i += j + 1
	}
	out := strings.ToUpper(b.String())
	if attempt > 0 && !random {
		out += randomCode(2)
	}
	return out
}

// DefaultCodeMaker makes the Shopify or WooCommerce client for a store
// (a sandbox store is a Shopify shop served by payper's sandbox).
func DefaultCodeMaker(a orders.StoreAccess) (commerce.CodeCreator, error) {
	switch a.Platform {
	case orders.Shopify:
		return &shopify.Client{Shop: a.Shop, Token: a.AccessToken, BaseURL: a.APIBase, HTTP: storeHTTP}, nil
	case orders.WooCommerce:
		return &woocommerce.Client{SiteURL: a.APIBase, ConsumerKey: a.ConsumerKey, ConsumerSecret: a.ConsumerSecret, HTTP: storeHTTP}, nil
	}
	return nil, fmt.Errorf("attrib: no code client for platform %q", a.Platform)
}

// storeHTTP is the HTTP client store APIs are called with.
var storeHTTP = &http.Client{Timeout: 20 * time.Second}
