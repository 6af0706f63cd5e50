package creator

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store"
)

// Account statuses.
const (
	StatusConnected       = "connected"        // the token works (as far as payper knows)
	StatusReconnectNeeded = "reconnect_needed" // the platform refused the token: the creator must connect again
	StatusDisconnected    = "disconnected"     // replaced by another account on the same platform
)

// ConnectTTL is how long a started connect flow waits for the platform's
// redirect.
const ConnectTTL = 15 * time.Minute

// Account is a creator's connected social account. Followers and the
// engagement rate come from the platform only.
type Account struct {
	ID        string        `json:"id"`
	CreatorID string        `json:"creator_id"`
	Platform  platform.Name `json:"platform"`
	AccountID string        `json:"account_id"` // the platform's id
	Handle    string        `json:"handle"`
	// Followers is null while the platform hides the count.
	Followers platform.Count `json:"followers"`
	Tier      Tier           `json:"tier"`
	// EngagementRatePPM is the engagement rate in parts per million (see
	// EngagementRatePPM), nil while unknown.
	EngagementRatePPM *int64 `json:"engagement_rate_ppm"`
	// EngagementRate is the same rate as a percentage with four decimals
	// ("4.2500"), "" while unknown.
	EngagementRate string       `json:"engagement_rate_percent,omitempty"`
	Status         string       `json:"status"`
	StatusReason   string       `json:"status_reason,omitempty"`
	ConnectedAt    clock.Micros `json:"connected_at"`
	UpdatedAt      clock.Micros `json:"updated_at"`
}

// Connected reports whether the account is usable.
func (a Account) Connected() bool { return a.Status == StatusConnected }

func (a *Account) setRate(ppm int64, ok bool) {
	a.EngagementRatePPM, a.EngagementRate = nil, ""
	if ok {
		v := ppm
		a.EngagementRatePPM, a.EngagementRate = &v, FormatPPM(ppm)
	}
}

// storedToken is a platform.Token as stored in creator_accounts.token.
type storedToken struct {
	AccessToken      string    `json:"access_token"`
	RefreshToken     string    `json:"refresh_token,omitempty"`
	ExpiresAt        time.Time `json:"expires_at,omitzero"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at,omitzero"`
	IssuedAt         time.Time `json:"issued_at,omitzero"`
	Scopes           []string  `json:"scopes,omitempty"`
	AccountID        string    `json:"account_id"`
}

// tokenAAD binds a sealed token to its account: a ciphertext copied into
// another row does not open.
func tokenAAD(p platform.Name, accountID string) string {
	return "creator_accounts/" + string(p) + "/" + accountID + "/token"
}

// encodeToken returns t as stored: JSON sealed with AES-256-GCM when the
// service has a key (SetSecretBox), plain JSON otherwise.
func (s *Service) encodeToken(p platform.Name, accountID string, t platform.Token) (string, error) {
	b, err := json.Marshal(storedToken{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, ExpiresAt: t.ExpiresAt.UTC(),
		RefreshExpiresAt: t.RefreshExpiresAt.UTC(), IssuedAt: t.IssuedAt.UTC(), Scopes: t.Scopes, AccountID: t.AccountID})
	if err != nil {
		return "", fmt.Errorf("creator: encode token: %w", err)
	}
	if s.box == nil {
		return string(b), nil
	}
	sealed, err := s.box.Seal(string(b), tokenAAD(p, accountID))
	if err != nil {
		return "", fmt.Errorf("creator: seal token: %w", err)
	}
	return sealed, nil
}

// decodeToken reads a stored token, sealed or (stored before a key was
// configured) plain.
func (s *Service) decodeToken(p platform.Name, accountID, raw string) (platform.Token, error) {
	if strings.HasPrefix(raw, "v1.") {
		if s.box == nil {
			return platform.Token{}, fmt.Errorf("creator: the %s token of account %s is encrypted and this server has no key (PAYPER_SECRET_KEY)", p, accountID)
		}
		plain, err := s.box.Open(raw, tokenAAD(p, accountID))
		if err != nil {
			return platform.Token{}, fmt.Errorf("creator: the %s token of account %s does not open with this server's key: %w", p, accountID, err)
		}
		raw = plain
	}
	var st storedToken
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return platform.Token{}, fmt.Errorf("creator: stored token unreadable: %w", err)
	}
	return platform.Token{AccessToken: st.AccessToken, RefreshToken: st.RefreshToken, ExpiresAt: st.ExpiresAt,
		RefreshExpiresAt: st.RefreshExpiresAt, IssuedAt: st.IssuedAt, Scopes: st.Scopes, AccountID: st.AccountID}, nil
}

const accountCols = `id, creator_id, platform, account_id, handle, followers, followers_known, engagement_rate_ppm,
	status, status_reason, connected_at, updated_at`

func scanAccount(row interface{ Scan(...any) error }, extra ...any) (Account, error) {
	var a Account
	var plat string
	var er sql.NullInt64
	dest := append([]any{&a.ID, &a.CreatorID, &plat, &a.AccountID, &a.Handle, &a.Followers.Value, &a.Followers.Known, &er,
		&a.Status, &a.StatusReason, &a.ConnectedAt, &a.UpdatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return a, err
	}
	a.Platform = platform.Name(plat)
	if !a.Followers.Known {
		a.Followers = platform.Unknown()
	}
	a.Tier = TierOf(a.Followers)
	a.setRate(er.Int64, er.Valid)
	return a, nil
}

// secretCols are read into readAccount's extra destinations, in order.
var secretCols = []string{"token", "refresh_lease_owner", "refresh_lease_until"}

// readAccount reads one account, and into extra (if any) the first
// len(extra) of secretCols.
func (s *Service) readAccount(ctx context.Context, q store.Queryer, rowID, suffix string, extra ...any) (Account, error) {
	cols := accountCols
	for _, c := range secretCols[:len(extra)] {
		cols += ", " + c
	}
	a, err := scanAccount(q.QueryRowContext(ctx, `SELECT `+cols+` FROM creator_accounts WHERE id = $1`+suffix, rowID), extra...)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, errs.NotFoundf("account %s not found", rowID)
	}
	if err != nil {
		return Account{}, fmt.Errorf("creator: read account %s: %w", rowID, err)
	}
	return a, nil
}

func (s *Service) listAccounts(ctx context.Context, q store.Queryer, where string, args ...any) ([]Account, error) {
	out, err := store.QueryAll(ctx, q, func(r store.Scanner) (Account, error) { return scanAccount(r) }, `SELECT `+accountCols+` FROM creator_accounts WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("creator: list accounts: %w", err)
	}
	return out, nil
}

// Account returns a connected account by its row id, whatever its status,
// for background work acting for the platform (no principal). It returns
// NotFound when there is none.
func (s *Service) Account(ctx context.Context, accountRowID string) (Account, error) {
	return s.readAccount(ctx, s.db.Read(), accountRowID, "")
}

// AccountOn returns the creator's connected account (status connected) on
// platform p, or NotFound when the creator has none there.
func (s *Service) AccountOn(ctx context.Context, creatorID string, p platform.Name) (Account, error) {
	list, err := s.listAccounts(ctx, s.db.Read(), `creator_id = $1 AND platform = $2 AND status = $3`, creatorID, string(p), StatusConnected)
	if err != nil {
		return Account{}, err
	}
	if len(list) == 0 {
		return Account{}, errs.NotFoundf("creator %s has no connected %s account", creatorID, p)
	}
	return list[0], nil
}

// Accounts returns every account of creatorID (disconnected ones too),
// oldest first, as p may see them (the admin or the creator itself); it
// returns NotFound for a creator p may not see.
func (s *Service) Accounts(ctx context.Context, p identity.Principal, creatorID string) ([]Account, error) {
	if !mayManage(p, creatorID) {
		return nil, errs.NotFoundf("creator %s not found", creatorID)
	}
	return s.listAccounts(ctx, s.db.Read(), `creator_id = $1`, creatorID)
}

// Summary is a creator's profile with their accounts that are not
// disconnected, as brands reviewing applications and the marketplace's
// eligibility rules see them.
type Summary struct {
	Profile
	Accounts []Account `json:"accounts"`
}

// Handle is the creator's handle on their oldest connected account, else
// their name.
func (s Summary) Handle() string {
	for _, a := range s.Accounts {
		if a.Connected() && a.Handle != "" {
			return strings.TrimPrefix(a.Handle, "@")
		}
	}
	return s.Name
}

// Summaries returns the summaries of the given creators, by creator id,
// for the marketplace (no principal: callers decide who sees what).
// Unknown ids are absent from the map.
func (s *Service) Summaries(ctx context.Context, q store.Queryer, creatorIDs []string) (map[string]Summary, error) {
	out := make(map[string]Summary, len(creatorIDs))
	if len(creatorIDs) == 0 {
		return out, nil
	}
	cond, arg := store.InText(s.db.Dialect(), "id", 1, creatorIDs)
	rows, err := q.QueryContext(ctx, `SELECT `+profileCols+` FROM creators WHERE `+cond, arg)
	if err != nil {
		return nil, fmt.Errorf("creator: read profiles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		pr, err := scanProfile(rows)
		if err != nil {
			return nil, fmt.Errorf("creator: read profiles: %w", err)
		}
		out[pr.ID] = Summary{Profile: pr, Accounts: []Account{}}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("creator: read profiles: %w", err)
	}
	rows.Close()
	cond, arg = store.InText(s.db.Dialect(), "creator_id", 1, creatorIDs)
	accts, err := s.listAccounts(ctx, q, cond+` AND status <> '`+StatusDisconnected+`'`, arg)
	if err != nil {
		return nil, err
	}
	for _, a := range accts {
		if sum, ok := out[a.CreatorID]; ok {
			sum.Accounts = append(sum.Accounts, a)
			out[a.CreatorID] = sum
		}
	}
	return out, nil
}

// ConnectRequest starts connecting an account.
type ConnectRequest struct {
	Platform platform.Name `json:"platform"`
	// Handle, if given, is passed to the platform as the login hint (the
	// sandbox connects exactly this handle).
	Handle string `json:"handle"`
}

// Connection is a started connect flow: send the creator's browser to
// AuthorizeURL.
type Connection struct {
	Platform     platform.Name `json:"platform"`
	AuthorizeURL string        `json:"authorize_url"`
	State        string        `json:"state"`
	RedirectURI  string        `json:"redirect_uri"`
	ExpiresAt    clock.Micros  `json:"expires_at"`
}

// StartConnect begins the OAuth flow for the creator p acts for: it stores
// the state and PKCE verifier for ConnectTTL and returns the platform's
// consent URL. It returns Forbidden unless p is a creator, and an Invalid
// error (field platform or handle) for an unknown or unconfigured platform
// or a malformed handle.
func (s *Service) StartConnect(ctx context.Context, p identity.Principal, req ConnectRequest) (Connection, error) {
	if p.CreatorID() == "" {
		return Connection{}, errs.E(errs.Forbidden, "forbidden", "only a creator can connect accounts")
	}
	var c errs.Collector
	name := platform.Name(strings.ToLower(strings.TrimSpace(string(req.Platform))))
	var conn platform.Connector
	if name == "" {
		c.Addf("platform", "required", "platform is required")
	} else if cn, err := s.platforms.Get(name); err != nil {
		c.Add("platform", err)
	} else {
		conn = cn
	}
	handle := strings.TrimPrefix(strings.TrimSpace(req.Handle), "@")
	if len(handle) > 100 || strings.ContainsFunc(handle, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		c.Addf("handle", "invalid", "handle must be at most 100 characters without spaces")
	}
	if err := c.Err(); err != nil {
		return Connection{}, err
	}
	now := s.clock.Now()
	verifier, state := platform.NewVerifier(), platform.NewState()
	out := Connection{Platform: name, State: state, RedirectURI: s.callbackURL, ExpiresAt: clock.MicrosOf(now.Add(ConnectTTL)),
		AuthorizeURL: conn.AuthorizeURL(platform.AuthRequest{State: state, RedirectURI: s.callbackURL,
			CodeChallenge: platform.Challenge(verifier), LoginHint: handle})}
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM platform_connections WHERE expires_at <= $1`, now.UnixMicro()); err != nil {
			return fmt.Errorf("creator: drop expired connections: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO platform_connections (state, creator_id, platform, verifier, redirect_uri, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, state, p.CreatorID(), string(name), verifier, s.callbackURL, now.UnixMicro(), int64(out.ExpiresAt)); err != nil {
			return fmt.Errorf("creator: store connection: %w", err)
		}
		return nil
	})
	if err != nil {
		return Connection{}, err
	}
	return out, nil
}

type pending struct {
	creatorID, platform, verifier, redirectURI string
	expiresAt                                  int64
}

// Callback completes a connect flow from the platform's redirect query
// (code and state; the state is the credential, so no principal is
// needed): it exchanges the code, reads the profile and recent media, and
// stores or updates the account, which it returns. A state is used once.
// It returns an Invalid error for a missing, unknown, used or expired state
// (code invalid_state or connection_expired), a declined consent
// (access_denied), or a code the platform refuses (invalid_code); a
// Conflict (account_taken) when the platform account is connected to
// another creator; and an Unavailable error (platform_unavailable or
// platform_rate_limited) when the platform cannot answer now.
//
// Reconnecting an account updates its token, handle, followers and
// engagement rate and sets it connected again. Connecting another account on
// a platform where the creator already has one disconnects the old one.
func (s *Service) Callback(ctx context.Context, q url.Values) (Account, error) {
	cb, perr := platform.ParseCallback(q)
	if perr != nil {
		if st := q.Get("state"); st != "" && len(st) <= 200 {
			// A refused consent ends the flow: the state cannot be used again.
			if err := s.db.WithTx(ctx, func(tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, `DELETE FROM platform_connections WHERE state = $1`, st)
				return err
			}); err != nil {
				return Account{}, fmt.Errorf("creator: drop connection: %w", err)
			}
		}
		switch {
		case errors.Is(perr, platform.ErrAccessDenied):
			return Account{}, &errs.Error{Kind: errs.Invalid, Code: "access_denied", Message: "the creator declined to connect the account", Err: perr}
		case cb.Code == "" && q.Get("error") == "":
			return Account{}, errs.Invalidf("code", "required", "the callback carries no code")
		case cb.State == "":
			return Account{}, errs.Invalidf("state", "required", "the callback carries no state")
		}
		return Account{}, &errs.Error{Kind: errs.Invalid, Code: "authorization_failed", Message: perr.Error(), Err: perr}
	}
	var pc pending
	found := false
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT creator_id, platform, verifier, redirect_uri, expires_at FROM platform_connections WHERE state = $1`+tx.ForUpdate(), cb.State).
			Scan(&pc.creatorID, &pc.platform, &pc.verifier, &pc.redirectURI, &pc.expiresAt)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("creator: read connection: %w", err)
		}
		found = true
		if _, err := tx.ExecContext(ctx, `DELETE FROM platform_connections WHERE state = $1`, cb.State); err != nil {
			return fmt.Errorf("creator: use connection: %w", err)
		}
		return nil
	})
	if err != nil {
		return Account{}, err
	}
	if !found {
		return Account{}, errs.Invalidf("state", "invalid_state", "unknown or already used connect state: start connecting again")
	}
	if s.clock.Now().UnixMicro() >= pc.expiresAt {
		return Account{}, errs.Invalidf("state", "connection_expired", "the connect flow expired after %s: start connecting again", ConnectTTL)
	}
	name := platform.Name(pc.platform)
	conn, err := s.platforms.Get(name)
	if err != nil {
		return Account{}, err
	}
	tok, err := conn.Exchange(ctx, cb.Code, pc.redirectURI, pc.verifier)
	if errors.Is(err, platform.ErrReconnect) {
		return Account{}, &errs.Error{Kind: errs.Invalid, Code: "invalid_code", Field: "code",
			Message: fmt.Sprintf("%s refused the authorization code: start connecting again", name), Err: err}
	}
	if err != nil {
		return Account{}, platformErr(name, err)
	}
	prof, ppm, ok, err := read(ctx, conn, tok)
	if err != nil {
		return Account{}, platformErr(name, err)
	}
	if tok.AccountID == "" {
		tok.AccountID = prof.AccountID
	}
	return s.store(ctx, pc.creatorID, name, tok, prof, ppm, ok)
}

// read returns the profile and the engagement rate. A token that lacks the
// scope to read media (ErrReconnect after a successful profile read) leaves
// the rate unknown.
func read(ctx context.Context, conn platform.Connector, tok platform.Token) (platform.Profile, int64, bool, error) {
	prof, err := conn.Profile(ctx, tok)
	if err != nil {
		return prof, 0, false, err
	}
	if prof.AccountID == "" {
		prof.AccountID = tok.AccountID
	}
	media, err := conn.RecentMedia(ctx, tok, ERWindow)
	if errors.Is(err, platform.ErrReconnect) {
		return prof, 0, false, nil
	}
	if err != nil {
		return prof, 0, false, err
	}
	ppm, ok := EngagementRatePPM(prof.Followers, media)
	return prof, ppm, ok, nil
}

func (s *Service) store(ctx context.Context, creatorID string, name platform.Name, tok platform.Token, prof platform.Profile, ppm int64, ok bool) (Account, error) {
	enc, err := s.encodeToken(name, prof.AccountID, tok)
	if err != nil {
		return Account{}, err
	}
	var out Account
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		now := s.clock.Now().UnixMicro()
		var rowID, owner string
		err := tx.QueryRowContext(ctx, `SELECT id, creator_id FROM creator_accounts WHERE platform = $1 AND account_id = $2`+tx.ForUpdate(),
			string(name), prof.AccountID).Scan(&rowID, &owner)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			rowID = ""
		case err != nil:
			return fmt.Errorf("creator: find account: %w", err)
		case owner != creatorID:
			return errs.Conflictf("account_taken", "the %s account @%s is already connected to another creator", name, prof.Handle)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE creator_accounts SET status = $1, status_reason = $2, updated_at = $3
			WHERE creator_id = $4 AND platform = $5 AND account_id <> $6 AND status <> $1`,
			StatusDisconnected, "replaced by @"+prof.Handle, now, creatorID, string(name), prof.AccountID); err != nil {
			return fmt.Errorf("creator: disconnect replaced account: %w", err)
		}
		var er any
		if ok {
			er = ppm
		}
		if rowID == "" {
			rowID = id.New(id.Account)
			_, err = tx.ExecContext(ctx, `INSERT INTO creator_accounts (id, creator_id, platform, account_id, handle, followers, followers_known,
				engagement_rate_ppm, status, status_reason, token, connected_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '', $10, $11, $11)`,
				rowID, creatorID, string(name), prof.AccountID, prof.Handle, prof.Followers.Value, prof.Followers.Known, er,
				StatusConnected, enc, now)
			if store.IsUniqueViolation(err) {
				return fmt.Errorf("creator: account connected concurrently: %w", store.ErrRetry)
			}
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE creator_accounts SET handle = $1, followers = $2, followers_known = $3,
				engagement_rate_ppm = $4, status = $5, status_reason = '', token = $6, refresh_lease_owner = '', refresh_lease_until = 0,
				connected_at = $7, updated_at = $7 WHERE id = $8`,
				prof.Handle, prof.Followers.Value, prof.Followers.Known, er, StatusConnected, enc, now, rowID)
		}
		if err != nil {
			return fmt.Errorf("creator: store account: %w", err)
		}
		out, err = s.readAccount(ctx, tx, rowID, "")
		return err
	})
	return out, err
}

// RefreshAccount reads the account's followers and engagement rate from the
// platform again and returns the updated account. p must be the account's
// creator or the admin (NotFound otherwise). It returns a Conflict
// (reconnect_needed, also matching platform.ErrReconnect) when the
// platform refuses the account's authorization, account_disconnected for a
// replaced account, and an Unavailable error (platform_unavailable or
// platform_rate_limited) when the platform cannot answer now.
func (s *Service) RefreshAccount(ctx context.Context, p identity.Principal, accountRowID string) (Account, error) {
	a, err := s.readAccount(ctx, s.db.Read(), accountRowID, "")
	if err == nil && !mayManage(p, a.CreatorID) {
		err = errs.NotFoundf("account %s not found", accountRowID)
	}
	if err != nil {
		return Account{}, err
	}
	var prof platform.Profile
	var ppm int64
	var ok bool
	err = s.WithToken(ctx, accountRowID, func(ctx context.Context, conn platform.Connector, tok platform.Token) error {
		var err error
		prof, ppm, ok, err = read(ctx, conn, tok)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	var out Account
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		var er any
		if ok {
			er = ppm
		}
		if _, err := tx.ExecContext(ctx, `UPDATE creator_accounts SET handle = $1, followers = $2, followers_known = $3,
			engagement_rate_ppm = $4, updated_at = $5 WHERE id = $6`,
			prof.Handle, prof.Followers.Value, prof.Followers.Known, er, s.clock.Now().UnixMicro(), accountRowID); err != nil {
			return fmt.Errorf("creator: update account: %w", err)
		}
		out, err = s.readAccount(ctx, tx, accountRowID, "")
		return err
	})
	return out, err
}

// platformErr turns a platform failure a user can do nothing about but wait
// into an errs Unavailable error (503) that still matches the platform's
// error kinds; anything else stays an internal error.
func platformErr(name platform.Name, err error) error {
	switch {
	case errors.Is(err, platform.ErrRateLimited):
		return &errs.Error{Kind: errs.Unavailable, Code: "platform_rate_limited", Message: fmt.Sprintf("%s is rate-limiting payper: try again later", name), Err: err}
	case errors.Is(err, platform.ErrUnavailable):
		return &errs.Error{Kind: errs.Unavailable, Code: "platform_unavailable", Message: fmt.Sprintf("%s cannot be reached: try again later", name), Err: err}
	case errs.KindOf(err) != errs.Internal:
		return err
	}
	return fmt.Errorf("creator: %s: %w", name, err)
}
