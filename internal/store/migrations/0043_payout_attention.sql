-- payouts.attention: why the operator must act on a payout before payper
-- goes on with it ('' when nothing is asked of them). Set when the last
-- attempt at a payout lost the provider's answer before a transfer id was
-- stored and the provider could not be asked whether it made the transfer
-- (the payout stays processing, its money held, instead of failing and
-- freeing money that may have left), and when a Wise payout held for strong
-- customer authentication keeps failing to be canceled at Wise past its
-- attempts. Such a payout is not sent again; the operator settles it
-- (POST /v1/admin/payouts/{id}/mark), which clears it.
ALTER TABLE payouts ADD COLUMN attention TEXT NOT NULL DEFAULT '';
