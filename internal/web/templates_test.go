package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// No template has inline script, a style attribute or element, or an
// event-handler attribute: the CSP (script-src 'self'; style-src 'self')
// would block them, so they would only break the page.
func TestTemplatesHaveNoInlineScriptOrStyle(t *testing.T) {
	scriptTag := regexp.MustCompile(`(?i)<script\b[^>]*>`)
	styleAttr := regexp.MustCompile(`(?i)\sstyle\s*=`)
	styleTag := regexp.MustCompile(`(?i)<style\b`)
	handler := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	jsURL := regexp.MustCompile(`(?i)(href|src|action)\s*=\s*"?\s*javascript:`)
	n := 0
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		n++
		b, err := fs.ReadFile(templateFS, path)
		if err != nil {
			return err
		}
		src := string(b)
		for _, tag := range scriptTag.FindAllString(src, -1) {
			if !strings.Contains(strings.ToLower(tag), " src=") {
				t.Errorf("%s: inline script %s", path, tag)
			}
		}
		for name, re := range map[string]*regexp.Regexp{"style attribute": styleAttr, "style element": styleTag, "event handler": handler, "javascript: URL": jsURL} {
			if m := re.FindString(src); m != "" {
				t.Errorf("%s: %s %q", path, name, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("scanned %d templates; the embed is wrong", n)
	}
}

// Every page template parses with the layout and partials, and renders a
// zero Page without error (a field a page needs is checked by its tests).
func TestPagesParse(t *testing.T) {
	pages := mustParsePages()
	for _, want := range []string{"error.html", "auth_signin.html", "settings_keys.html"} {
		if pages[want] == nil {
			t.Fatalf("no page %s among %d", want, len(pages))
		}
	}
}
