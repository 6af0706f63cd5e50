package links

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestClientIP derives the client address from the peer and X-Forwarded-For.
func TestClientIP(t *testing.T) {
	t.Parallel()
	cases := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1:4000", nil, "192.0.2.1"},
		{"192.0.2.1", nil, "192.0.2.1"},
		{"[2001:db8::1]:443", nil, "2001:db8::1"},
		{"[::ffff:192.0.2.1]:443", nil, "192.0.2.1"},
		{"bogus", nil, ""},
		{"", nil, ""},
		{"10.0.0.1:1", []string{"1.1.1.1, 203.0.113.7"}, "203.0.113.7"},
		{"10.0.0.1:1", []string{"9.9.9.9", "1.1.1.1,203.0.113.7 "}, "203.0.113.7"},
		{"10.0.0.1:1", []string{"203.0.113.7:5555"}, "203.0.113.7"},
		{"10.0.0.1:1", []string{"[2001:db8::7]:5555"}, "2001:db8::7"},
		{"10.0.0.1:1", []string{"fe80::1%eth0"}, "fe80::1"},
		{"10.0.0.1:1", []string{"unknown"}, "10.0.0.1"},
		{"10.0.0.1:1", []string{"1.2.3.4, "}, "10.0.0.1"},
		{"10.0.0.1:1", []string{"\x00"}, "10.0.0.1"},
		{"bogus", []string{"nope"}, ""},
	}
	for _, c := range cases {
		if got := ClientIP(c.remote, c.xff); got != c.want {
			t.Errorf("ClientIP(%q, %q) = %q, want %q", c.remote, c.xff, got, c.want)
		}
	}
}

// canonicalIP reports whether s is an address in ClientIP's form.
func canonicalIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == "" && !a.Is4In6() && a.String() == s
}

// FuzzClientIP feeds peer addresses and X-Forwarded-For values to
// ClientIP and to VisitOf behind a trusted proxy: the address is a
// canonical IP or empty; it is the header's last entry whenever that is an
// address, else the peer's.
func FuzzClientIP(f *testing.F) {
	f.Add("192.0.2.1:4000", "1.1.1.1, 203.0.113.7")
	f.Add("[2001:db8::1]:443", "")
	f.Add("bogus", "203.0.113.7:80")
	f.Add("10.0.0.1:1", "fe80::1%eth0")
	f.Add("10.0.0.1:1", "\x00, ::ffff:1.2.3.4")
	f.Fuzz(func(t *testing.T, remote, xff string) {
		got := ClientIP(remote, []string{xff})
		if got != "" && !canonicalIP(got) {
			t.Fatalf("ClientIP(%q, %q) = %q: not a canonical address", remote, xff, got)
		}
		last := xff
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if fromHeader := ClientIP("", []string{xff}); fromHeader != "" {
			if got != fromHeader {
				t.Fatalf("ClientIP(%q, %q) = %q, but the header's last entry %q is %q", remote, xff, got, last, fromHeader)
			}
		} else if peer := ClientIP(remote, nil); got != peer {
			t.Fatalf("ClientIP(%q, %q) = %q, want the peer's %q", remote, xff, got, peer)
		}
		if a, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil && got != a.Unmap().WithZone("").String() {
			t.Fatalf("ClientIP(%q, %q) = %q, want the header's %s", remote, xff, got, a)
		}
		r := httptest.NewRequest("GET", "/r/x", nil)
		r.RemoteAddr = remote
		r.Header["X-Forwarded-For"] = []string{xff}
		if v := trusting.VisitOf(r); v.IP != got {
			t.Fatalf("VisitOf behind a proxy: IP %q, ClientIP %q", v.IP, got)
		}
	})
}

// trusting is a links service trusting X-Forwarded-For; VisitOf needs no
// database.
var trusting = &Service{cfg: Config{TrustProxy: true}}

// FuzzReferrerHost checks that a referrer host is lower case, at most 253
// bytes, valid UTF-8 without control characters (NUL included), spaces or
// backslashes, and part of the header.
func FuzzReferrerHost(f *testing.F) {
	for _, s := range []string{"https://www.instagram.com/maria", "https://ex\x00ample.com/", "https://b\xfccher.example/",
		"https://B\u00fccher.example:8443/x", "https://user@[2001:DB8::1]:443/", "android-app://com.google.android.gm/", "nonsense"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		h := ReferrerHost(ref)
		if len(h) > 253 || !utf8.ValidString(h) || strings.ToLower(h) != h {
			t.Fatalf("ReferrerHost(%q) = %q", ref, h)
		}
		for _, r := range h {
			if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\\' {
				t.Fatalf("ReferrerHost(%q) = %q holds %q", ref, h, r)
			}
		}
		if h != "" && !strings.Contains(strings.ToLower(ref), h) {
			t.Fatalf("ReferrerHost(%q) = %q is not in the header", ref, h)
		}
	})
}
