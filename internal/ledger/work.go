package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// account is a locked ledger account whose balances the work unit changes in
// memory and writes back once, at flush.
type account struct {
	ID         string
	Kind       string
	Currency   money.Currency
	OwnerID    string
	CampaignID string
	Bounded    bool
	Posted     int64
	PendingOut int64
	PendingIn  int64

	dirty bool
}

// spendable is what a bounded account may still be debited.
func (a *account) spendable() int64 { return a.Posted - a.PendingOut }

// spec describes an account to create if it does not exist yet.
type spec struct {
	ID, Kind   string
	Currency   money.Currency
	OwnerID    string
	CampaignID string
	Bounded    bool
}

func specFor(kind, campaign, creator, brand string, c money.Currency) spec {
	s := spec{ID: AccountID(kind, campaign, creator, c), Kind: kind, Currency: c, CampaignID: campaign}
	switch kind {
	case AccEscrow, AccFees:
		s.Bounded = true
		s.OwnerID = brand
	case AccHeld:
		s.Bounded = true
		s.OwnerID = creator
	case AccAvailable:
		s.Bounded = true
		s.OwnerID = creator
		s.CampaignID = ""
	case AccDebt:
		s.OwnerID = creator
		s.CampaignID = ""
	default:
		s.CampaignID = ""
	}
	if kind == AccFees {
		s.OwnerID = "" // the platform's
	}
	return s
}

// leg is one side of a posting.
type leg struct {
	acct   string
	amount int64 // > 0 credit, < 0 debit
}

// work accumulates one database transaction's ledger writes so they reach
// the database in a few bulk statements.
type work struct {
	tx    *store.Tx
	now   int64
	accts map[string]*account

	txRows    [][]any
	entryRows [][]any
}

func newWork(tx *store.Tx, now int64) *work {
	return &work{tx: tx, now: now, accts: map[string]*account{}}
}

// lock creates any missing accounts and locks them all, in id order, and
// loads their balances. Accounts locked earlier in this work unit are kept.
func (w *work) lock(ctx context.Context, specs ...spec) error {
	sort.Slice(specs, func(i, j int) bool { return specs[i].ID < specs[j].ID })
	var ids []string
	for i, s := range specs {
		if i > 0 && specs[i-1].ID == s.ID {
			continue
		}
		if _, ok := w.accts[s.ID]; ok {
			continue
		}
		ids = append(ids, s.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	if err := w.load(ctx, ids); err != nil {
		return err
	}
	var missing []spec
	for i, s := range specs {
		if i > 0 && specs[i-1].ID == s.ID {
			continue
		}
		if _, ok := w.accts[s.ID]; !ok {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	// Create the missing ones (in id order; a concurrent creator of the same
	// account makes ON CONFLICT wait for it), then lock everything again.
	var b strings.Builder
	b.WriteString(`INSERT INTO ledger_accounts (id, kind, currency, owner_id, campaign_id, bounded, created_at) VALUES `)
	args := make([]any, 0, len(missing)*7)
	for i, s := range missing {
		if i > 0 {
			b.WriteByte(',')
		}
		n := i * 7
		fmt.Fprintf(&b, "($%d,$%d,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
		args = append(args, s.ID, s.Kind, string(s.Currency), s.OwnerID, s.CampaignID, s.Bounded, w.now)
	}
	b.WriteString(` ON CONFLICT (id) DO NOTHING`)
	if _, err := w.tx.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("ledger: create accounts: %w", err)
	}
	created := make([]string, len(missing))
	for i, s := range missing {
		created[i] = s.ID
	}
	if err := w.load(ctx, created); err != nil {
		return err
	}
	for _, s := range missing {
		if _, ok := w.accts[s.ID]; !ok {
			return fmt.Errorf("ledger: account %s vanished after creation", s.ID)
		}
	}
	return nil
}

// load reads and locks the named accounts (in id order) into w.accts.
func (w *work) load(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	cond, arg := store.InText(w.tx.Dialect(), "id", 1, ids)
	accts, err := store.QueryAll(ctx, w.tx, func(r store.Scanner) (*account, error) {
		a := &account{}
		var cur string
		err := r.Scan(&a.ID, &a.Kind, &cur, &a.OwnerID, &a.CampaignID, &a.Bounded, &a.Posted, &a.PendingOut, &a.PendingIn)
		a.Currency = money.Currency(cur)
		return a, err
	}, `SELECT id, kind, currency, owner_id, campaign_id, bounded, posted, pending_out, pending_in
		FROM ledger_accounts WHERE `+cond+` ORDER BY id`+w.tx.ForUpdate(), arg)
	if err != nil {
		return fmt.Errorf("ledger: lock accounts: %w", err)
	}
	for _, a := range accts {
		w.accts[a.ID] = a
	}
	return nil
}

func (w *work) acct(id string) *account {
	a, ok := w.accts[id]
	if !ok {
		panic("ledger: account " + id + " used without lock") // programming error
	}
	return a
}

// post appends a posted transaction's entries and applies them to the
// locked accounts. It refuses, changing nothing, when the legs do not sum to
// zero, mix currencies, or would take a bounded account below zero.
func (w *work) post(txID string, legs ...leg) error {
	if err := w.apply(txID, legs, nil); err != nil {
		return err
	}
	seq := 0
	for _, l := range legs {
		if l.amount == 0 {
			continue
		}
		a := w.acct(l.acct)
		w.entryRows = append(w.entryRows, []any{txID, seq, a.ID, string(a.Currency), l.amount})
		seq++
	}
	return nil
}

// apply checks a transaction's legs and applies them to the locked
// accounts (known[i], when known is given, is legs[i]'s account). It
// refuses, changing nothing, when the legs do not sum to zero, mix
// currencies, or would take a bounded account below zero.
func (w *work) apply(txID string, legs []leg, known []*account) error {
	var accs [5]*account // every transaction has at most 5 legs
	as := accs[:0]
	var sum int64
	var cur money.Currency
	for i, l := range legs {
		var a *account
		if known != nil {
			a = known[i]
		} else {
			a = w.acct(l.acct)
		}
		as = append(as, a)
		if cur == "" {
			cur = a.Currency
		} else if a.Currency != cur {
			return fmt.Errorf("ledger: transaction %s mixes %s and %s", txID, cur, a.Currency)
		}
		var err error
		if sum, err = money.AddMicros(sum, l.amount); err != nil {
			return fmt.Errorf("ledger: transaction %s: %w", txID, err)
		}
	}
	if sum != 0 {
		return fmt.Errorf("ledger: transaction %s entries sum to %d, not zero", txID, sum)
	}
	// Check every bounded debit before applying any (the same account may
	// appear twice: net each account's legs, in leg order).
	for i, a := range as {
		if slices.Contains(as[:i], a) {
			continue
		}
		d := legs[i].amount
		var err error
		for j := i + 1; j < len(as) && err == nil; j++ {
			if as[j] == a {
				d, err = money.AddMicros(d, legs[j].amount)
			}
		}
		if err == nil {
			_, err = money.AddMicros(a.Posted, d)
		}
		if err != nil {
			return errs.Invalidf("amount", "amount_overflow", "account %s cannot hold that much more", a.ID)
		}
		if a.Bounded && d < 0 && a.spendable()+d < 0 {
			return &errs.Error{Kind: errs.Conflict, Code: ErrInsufficientFunds, Field: "amount",
				Message: fmt.Sprintf("account %s holds %s, cannot pay %s", a.ID, money.FormatMicros(a.spendable()), money.FormatMicros(-d))}
		}
	}
	for i, a := range as {
		if legs[i].amount != 0 {
			a.Posted += legs[i].amount
			a.dirty = true
		}
	}
	return nil
}

// record appends the transaction row that carries the idempotency key and
// the result returned on replay.
func (w *work) record(txID, key, hash, kind, campaign, brand, creator string, result any) error {
	b, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("ledger: marshal result: %w", err)
	}
	w.txRows = append(w.txRows, []any{txID, key, hash, kind, campaign, brand, creator, string(b), w.now,
		"", nil, nil, nil, 0})
	return nil
}

// Flags of a transaction row whose replay result its columns determine.
const (
	flagEscrowExhausted = 1
	flagCapReached      = 2
)

// accrualRow is a template for the transaction rows recordAccrual appends:
// the columns that the accruals of one campaign and creator in a work unit
// share, converted to database values once rather than once per row.
type accrualRow []any

// accrualTemplate returns the template for accruals in currency cur.
func (w *work) accrualTemplate(campaign, brand, creator string, cur money.Currency) accrualRow {
	row := make(accrualRow, len(txCols))
	row[3], row[4], row[5], row[6], row[7], row[8], row[9] = KindAccrue, campaign, brand, creator, "", w.now, string(cur)
	return row
}

// recordAccrual appends the transaction row of an accrual, already applied
// (see apply), with its entries in the row: amounts are those of the
// escrow, held and fees accounts of the template's campaign and creator, in
// that order (0 is stored as NULL: no entry), instead of ledger_entries
// rows. The row's result is empty and flags holds what the row does not
// otherwise say; a replay rebuilds the result from the row (see
// replayAccrual).
func (w *work) recordAccrual(t accrualRow, txID, key, hash string, flags int, amounts [3]int64) {
	row := make([]any, len(t))
	copy(row, t)
	row[0], row[1], row[2], row[13] = txID, key, hash, flags
	for i, m := range amounts {
		if m != 0 {
			row[10+i] = m
		}
	}
	w.txRows = append(w.txRows, row)
}

var (
	txCols = []string{"id", "idem_key", "request_hash", "kind", "campaign_id", "brand_id", "creator_id", "result", "created_at",
		"currency", "escrow_amount", "held_amount", "fee_amount", "flags"}
	entryCols = []string{"tx_id", "seq", "account_id", "currency", "amount"}
)

// flush writes the accumulated rows and the changed balances.
func (w *work) flush(ctx context.Context) error {
	// InsertBatch: a batch's few rows go through a statement SQLite
	// prepared once (parsing a bulk INSERT each time was a tenth of an
	// order batch's writer time); more rows, and PostgreSQL, bulk-load.
	if err := w.tx.InsertBatch(ctx, "ledger_transactions", txCols, w.txRows); err != nil {
		if store.IsUniqueViolation(err) {
			// A concurrent writer committed one of our idempotency keys
			// first; running again will replay its result.
			return fmt.Errorf("ledger: %w: %w", store.ErrRetry, err)
		}
		return err
	}
	if err := w.tx.BulkInsert(ctx, "ledger_entries", entryCols, w.entryRows); err != nil {
		return err
	}
	// All changed balances in one statement (ids are locked already).
	var dirty []*account
	for _, a := range w.accts {
		if a.dirty {
			dirty = append(dirty, a)
		}
	}
	if len(dirty) > 0 {
		sort.Slice(dirty, func(i, j int) bool { return dirty[i].ID < dirty[j].ID })
		var b strings.Builder
		b.WriteString(`UPDATE ledger_accounts SET posted = v.column2, pending_out = v.column3, pending_in = v.column4 FROM (VALUES `)
		args := make([]any, 0, 4*len(dirty))
		for i, a := range dirty {
			if i > 0 {
				b.WriteByte(',')
			}
			n := 4 * i
			fmt.Fprintf(&b, "(CAST($%d AS TEXT), CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS BIGINT))", n+1, n+2, n+3, n+4)
			args = append(args, a.ID, a.Posted, a.PendingOut, a.PendingIn)
		}
		b.WriteString(`) AS v WHERE ledger_accounts.id = v.column1`)
		r, err := w.tx.ExecContext(ctx, b.String(), args...)
		if err != nil {
			return fmt.Errorf("ledger: update accounts: %w", err)
		}
		if n, err := r.RowsAffected(); err == nil && n != int64(len(dirty)) {
			return fmt.Errorf("ledger: updated %d accounts, expected %d", n, len(dirty))
		}
		for _, a := range dirty {
			a.dirty = false
		}
	}
	w.txRows, w.entryRows = w.txRows[:0], w.entryRows[:0]
	return nil
}

// stored is a transaction found by idempotency key.
type stored struct {
	id     string
	hash   string
	result string   // the JSON result, or empty when the row determines it
	flags  int      // see flagEscrowExhausted
	legs   [3]int64 // an accrual's escrow, held and fee amounts (0: no entry)
}

const lookupCols = `id, request_hash, result, flags, COALESCE(escrow_amount, 0), COALESCE(held_amount, 0), COALESCE(fee_amount, 0)`

func (s *stored) dest() []any {
	return []any{&s.id, &s.hash, &s.result, &s.flags, &s.legs[0], &s.legs[1], &s.legs[2]}
}

// lookup returns the stored transactions for the given keys.
func lookup(ctx context.Context, q store.Queryer, d store.Dialect, keys []string) (map[string]stored, error) {
	out := make(map[string]stored, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	if len(keys) == 1 {
		var s stored
		err := q.QueryRowContext(ctx, `SELECT `+lookupCols+` FROM ledger_transactions WHERE idem_key = $1`, keys[0]).Scan(s.dest()...)
		if errors.Is(err, sql.ErrNoRows) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("ledger: look up idempotency key: %w", err)
		}
		out[keys[0]] = s
		return out, nil
	}
	cond, arg := store.InText(d, "idem_key", 1, keys)
	type row struct {
		k string
		s stored
	}
	rows, err := store.QueryAll(ctx, q, func(r store.Scanner) (row, error) {
		var x row
		err := r.Scan(append([]any{&x.k}, x.s.dest()...)...)
		return x, err
	}, `SELECT idem_key, `+lookupCols+` FROM ledger_transactions WHERE `+cond, arg)
	if err != nil {
		return nil, fmt.Errorf("ledger: look up idempotency keys: %w", err)
	}
	for _, x := range rows {
		out[x.k] = x.s
	}
	return out, nil
}

func keyReused(key string) error {
	return &errs.Error{Kind: errs.Conflict, Code: "idempotency_key_reused", Field: "idempotency_key",
		Message: fmt.Sprintf("idempotency key %q was already used for a different request", key)}
}

// replay decodes a stored result into out when the hashes match, and
// returns a conflict error when the key was used for another request.
func replay(key string, s stored, hash string, out any) error {
	if s.hash != hash {
		return keyReused(key)
	}
	if s.result == "" {
		// Only accruals store no result, and their hashes differ from
		// every other kind's.
		return fmt.Errorf("ledger: stored transaction for key %q has no result", key)
	}
	if err := json.Unmarshal([]byte(s.result), out); err != nil {
		return fmt.Errorf("ledger: decode stored result for key %q: %w", key, err)
	}
	return nil
}

// replayOne looks up a single key; found reports whether out was filled.
func replayOne(ctx context.Context, tx *store.Tx, key, hash string, out any) (found bool, err error) {
	m, err := lookup(ctx, tx, tx.Dialect(), []string{key})
	if err != nil {
		return false, err
	}
	s, ok := m[key]
	if !ok {
		return false, nil
	}
	return true, replay(key, s, hash, out)
}

func newTxID() string { return id.New(id.Transaction) }
