package web

// RepFuncs are the template functions, for the black-box tests of the
// report pages to format the API's figures as the pages show them.
var RepFuncs = funcs
