package web

// The template functions, for the collaboration pages' tests to format the
// API's figures as the pages do.
var (
	CollabMoney    = formatMoney
	CollabNum      = formatNum
	CollabPct      = formatPct
	CollabDateTime = formatDateTime
)
