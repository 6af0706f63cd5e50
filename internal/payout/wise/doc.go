// Package wise sends payouts through Wise (a hand-written client: Wise has no
// official Go library) and reads Wise's transfer webhooks. It implements
// payout.Provider.
//
// # Flow
//
// Send makes four calls, each with Authorization: Bearer <API token>:
//
//  1. POST /v3/profiles/{profileId}/quotes {sourceCurrency, targetCurrency,
//     sourceAmount}: source and target currency are both the payout's
//     currency, sourceAmount is the exact decimal ("12.34", a JSON number
//     written from the integer micro-units, never through a float).
//  2. POST /v1/accounts: the recipient (EUR, GBP, CHF, DKK, NOK, PLN, SEK by
//     IBAN, GBP also by sort code and account number, USD by ABA routing and
//     account number), from the Recipient JSON in payout.Transfer.Destination.
//  3. POST /v1/transfers {targetAccount, quoteUuid, customerTransactionId,
//     details{reference}}: customerTransactionId is CustomerTransactionID of
//     the payout id, a name-based UUID (version 5, SHA-1, RFC 9562), so a
//     retry after a crash asks for the same transfer and Wise answers it
//     instead of creating a second one.
//  4. POST /v3/profiles/{profileId}/transfers/{id}/payments {"type":"BALANCE"}.
//
// Delivery is reported later by the transfers#state-change webhook, so Send
// returns Paid false unless the transfer already says outgoing_payment_sent.
//
// Each id (quote, recipient, transfer) is recorded through
// payout.Transfer.Record as soon as Wise answers it, and a retry reuses
// them (payout.Transfer.Progress), so a payout gets one quote, one
// recipient and one transfer however often it is retried.
//
// # Strong customer authentication
//
// Funding a transfer is protected by SCA for UK and EEA profiles: Wise
// answers 403 with the headers x-2fa-approval (a one-time token) and
// x-2fa-approval-result: REJECTED
// (https://docs.wise.com/guides/developer/auth-and-security/one-time-token).
// As "Personal Token SCA" documents
// (https://docs.wise.com/api-docs/features/strong-customer-authentication-2fa/personal-token-sca),
// the token is signed with the operator's RSA key (at least 2048 bits,
// SHA-256 with RSA, base64; its public key uploaded to Wise under "Manage
// public keys") and the call is made again with x-2fa-approval: <token> and
// X-Signature: <signature>. The key is Config.SCAPrivateKeyPEM or
// SCAPrivateKeyFile, else the file PAYPER_WISE_SCA_PRIVATE_KEY_FILE names.
// Without a key, or when Wise refuses the signature, Send returns
// payout.ErrActionRequired with the unfunded transfer's id. (The same page
// says Wise no longer accepts signed requests for personal accounts: a
// business profile is needed.)
//
// # Facts relied on and assumptions
//
// From payper's reference: the four endpoints and their main fields, the
// bearer token, customerTransactionId as the idempotency key, the
// transfers#state-change webhook.
//
// Taken from Wise's public documentation where the reference is silent, and
// therefore assumptions to re-check against the sandbox:
//   - recipient bodies: {"currency":"EUR","type":"iban","profile",
//     "accountHolderName","details":{"legalType":"PRIVATE","IBAN"}} (the same
//     for the other IBAN currencies), {"currency":"GBP","type":"sort_code",…,
//     "details":{"legalType":"PRIVATE","sortCode","accountNumber"}} and
//     {"currency":"USD","type":"aba","profile","accountHolderName",
//     "details":{"legalType":"PRIVATE","abartn","accountNumber",
//     "accountType":"CHECKING","address":{"country","state","city",
//     "postCode","firstLine"}}}; the answer carries a numeric "id".
//   - the quote answer carries "id" (the quote UUID); the transfer answer
//     carries a numeric "id" and "status" (and, when present,
//     "sourceCurrency"/"sourceValue", which are checked against the payout).
//   - a repeated customerTransactionId is answered with the existing transfer
//     (its current status), not an error.
//   - funding answers {"type":"BALANCE","status":"COMPLETED"|"REJECTED",
//     "errorCode"}; "transfer.insufficient_funds" is the insufficient-balance
//     code; funding a transfer that is already funded (or past funding) fails
//     with errors code "transfer.invalid-state", which Send takes as success.
//   - errors are {"errors":[{"code","message","path","arguments"}]} or
//     {"error","error_description"}; 429 may carry Retry-After in seconds.
//   - bounced_back and funds_refunded are read as payout.StateReversed (the
//     money came back: the service reverses a paid payout, fails one not
//     yet paid), cancelled as payout.StateFailed.
//   - a quote refused when the transfer is created (problem path
//     "quoteUuid", e.g. expired) is replaced by one new quote.
//   - webhooks: body {"data":{"resource":{"id","profile_id","account_id",
//     "type":"transfer"},"current_state","previous_state","occurred_at"},
//     "subscription_id","event_type","schema_version":"2.0.0","sent_at"},
//     header X-Delivery-Id as the event id, X-Test-Notification: true on
//     test deliveries (ignored). The signature header X-Signature-SHA256,
//     base64 of an RSA SHA-256 signature over the raw body by Wise's key
//     (configured as PEM), is Wise's documented scheme
//     (https://docs.wise.com/api-docs/features/webhooks-notifications/event-handling)
//     and is checked against Wise's own signed sample with its sandbox key
//     (TestWiseSignedSample; PKCS #1 v1.5, Java's SHA256WithRSA in Wise's
//     reference verifier).
//
// Errors: payout.ErrRejected when Wise refuses for good (validation errors,
// insufficient balance, a terminal transfer state), payout.ErrUnavailable
// after bounded retries of 429, 5xx and network errors, otherwise a plain
// error (authentication, an answer that cannot be read). Fake is an
// in-memory Wise for tests of this and other packages.
package wise
