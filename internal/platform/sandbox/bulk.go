package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/store"
)

// PublishMany publishes n posts with the same caption and type on one
// account in a single transaction, for benchmarks and large demos. It
// returns them in publication order.
func (w *World) PublishMany(ctx context.Context, account string, n int, caption, typ string, publishedAt time.Time) ([]Post, error) {
	if n <= 0 {
		return nil, nil
	}
	if !validType(typ) {
		return nil, fmt.Errorf("sandbox: post type %q is not one of %v", typ, PostTypes)
	}
	now := micros(w.clock.Now())
	out := make([]Post, 0, n)
	err := w.db.WithTx(ctx, func(tx *store.Tx) error {
		out = out[:0]
		a, err := accountByRef(ctx, tx, account, tx.ForUpdate())
		if err != nil {
			return err
		}
		rows := make([][]any, 0, n)
		for i := 0; i < n; i++ {
			code := id.Secret(6)
			p := Post{ID: id.New(postPrefix), AccountID: a.ID, Handle: a.Handle, Shortcode: code,
				Permalink: w.opts.PermalinkBase + "/@" + a.Handle + "/p/" + code, Caption: caption, Type: typ,
				PublishedAt: fromMicros(micros(publishedAt)), CreatedAt: fromMicros(now), UpdatedAt: fromMicros(now)}
			out = append(out, p)
			rows = append(rows, []any{p.ID, p.AccountID, p.Shortcode, p.Permalink, p.Caption, p.Type, micros(publishedAt),
				int64(0), int64(0), int64(0), int64(0), int64(0), now, now})
		}
		return tx.BulkInsert(ctx, "sandbox_posts", []string{"id", "account_id", "shortcode", "permalink", "caption", "type",
			"published_at", "views", "likes", "comments", "shares", "saves", "created_at", "updated_at"}, rows)
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: publish %d posts for %s: %w", n, account, err)
	}
	return out, nil
}

// GrowAll adds d to the counters of every live post of the network in one
// statement, for benchmarks and large demos. Counters the network does not
// report stay unknown.
func (w *World) GrowAll(ctx context.Context, d Delta) error {
	now := micros(w.clock.Now())
	return w.db.WithTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sandbox_posts SET views = views + $1, likes = likes + $2, comments = comments + $3,
			shares = shares + $4, saves = saves + $5, updated_at = $6 WHERE deleted_at = 0`, d.Views, d.Likes, d.Comments, d.Shares, d.Saves, now)
		if err != nil {
			return fmt.Errorf("sandbox: grow every post: %w", err)
		}
		return nil
	})
}
