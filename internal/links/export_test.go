package links

// RefuseClicks is refuseClicks for the package's external tests.
var RefuseClicks = refuseClicks
