package engage

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/platform"
)

// Finding is one way a post departs from the campaign's brief.
type Finding struct {
	Item    campaign.BriefItem `json:"item"`
	Code    string             `json:"code"`
	Message string             `json:"message"`
}

// Check compares a post with the brief. missing lists what the post must
// have and lacks — every required hashtag, the disclosure, and the post type
// when the brief makes it non-negotiable — so the post is refused;
// warnings list departures the brief allows (a post type outside the brief's
// list when it is negotiable). Hashtags match whole tags, ignoring case; a
// disclosure that is a hashtag matches the same way, any other disclosure
// ("Paid partnership") matches as a case-insensitive phrase.
func Check(b campaign.Brief, p campaign.Platform, m platform.Media) (missing, warnings []Finding) {
	tags := hashtags(m.Caption)
	for _, h := range b.RequiredHashtags {
		if !tags[strings.ToLower(h)] {
			missing = append(missing, Finding{Item: campaign.ItemHashtags, Code: "missing_hashtag",
				Message: fmt.Sprintf("the caption lacks the required hashtag %s", h)})
		}
	}
	if d := strings.TrimSpace(b.Disclosure); d != "" && !hasDisclosure(m.Caption, tags, d) {
		missing = append(missing, Finding{Item: campaign.ItemDisclosure, Code: "missing_disclosure",
			Message: fmt.Sprintf("the caption lacks the disclosure %s", d)})
	}
	if allowed, ok := b.PostTypes[p]; ok {
		got := campaign.BriefPostType(p, m.Type)
		if !slices.Contains(allowed, got) {
			f := Finding{Item: campaign.ItemPostTypes, Code: "post_type_not_in_brief",
				Message: fmt.Sprintf("the post is a %s %s; the brief asks for %s", p, orUnknown(got), strings.Join(allowed, " or "))}
			if slices.Contains(b.NonNegotiable, campaign.ItemPostTypes) {
				missing = append(missing, f)
			} else {
				warnings = append(warnings, f)
			}
		}
	}
	return missing, warnings
}

func orUnknown(s string) string {
	if s == "" {
		return "post of unknown type"
	}
	return s
}

// noncompliant is the error for a refused post: every missing item as a field
// error on "caption" (or "media" for the post type).
func noncompliant(missing []Finding) error {
	fields := make([]errs.FieldError, len(missing))
	names := make([]string, len(missing))
	for i, f := range missing {
		field := "caption"
		if f.Item == campaign.ItemPostTypes {
			field = "media"
		}
		fields[i] = errs.FieldError{Field: field, Code: f.Code, Message: f.Message}
		names[i] = f.Message
	}
	return &errs.Error{Kind: errs.Invalid, Code: "post_noncompliant", Field: fields[0].Field, Fields: fields,
		Message: fmt.Sprintf("the post does not follow the brief (%d missing): %s", len(missing), strings.Join(names, "; "))}
}

// hashtags returns the caption's hashtags, lower-cased with their '#'. A tag
// is '#' followed by letters, digits, marks or '_'.
func hashtags(caption string) map[string]bool {
	out := map[string]bool{}
	rs := []rune(caption)
	for i := 0; i < len(rs); i++ {
		if rs[i] != '#' || (i > 0 && tagRune(rs[i-1])) {
			continue
		}
		j := i + 1
		for j < len(rs) && tagRune(rs[j]) {
			j++
		}
		if j > i+1 {
			out[strings.ToLower(string(rs[i:j]))] = true
		}
		i = j - 1
	}
	return out
}

func tagRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_'
}

func hasDisclosure(caption string, tags map[string]bool, d string) bool {
	if strings.HasPrefix(d, "#") && !strings.ContainsAny(d, " \t") {
		return tags[strings.ToLower(d)]
	}
	c, d := strings.ToLower(caption), strings.ToLower(d)
	for i := 0; ; {
		k := strings.Index(c[i:], d)
		if k < 0 {
			return false
		}
		start, end := i+k, i+k+len(d)
		before, after := ' ', ' '
		if start > 0 {
			before = []rune(c[:start])[len([]rune(c[:start]))-1]
		}
		if end < len(c) {
			after = []rune(c[end:])[0]
		}
		if !tagRune(before) && !tagRune(after) {
			return true
		}
		i = start + 1
	}
}
