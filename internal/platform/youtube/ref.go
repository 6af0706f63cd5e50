package youtube

import (
	"net/url"
	"strings"
)

// VideoID returns the video id ref names: ref itself when it is a video id
// (11 characters of [A-Za-z0-9_-]), or the id in a YouTube link
// (youtube.com/watch?v=ID, /shorts/ID, /live/ID, /embed/ID, /v/ID on
// www., m. and music.youtube.com and youtube-nocookie.com, and youtu.be/ID,
// each with any extra query). It returns "" and false when ref names none.
func VideoID(ref string) (string, bool) {
	id, _, ok := parseRef(ref)
	return id, ok
}

// parseRef is VideoID, also reporting whether ref is a /shorts/ link.
func parseRef(ref string) (id string, short, ok bool) {
	ref = strings.TrimSpace(ref)
	if !strings.Contains(ref, "://") {
		if !validID(ref) {
			return "", false, false
		}
		return ref, false, true
	}
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", false, false
	}
	host := strings.ToLower(u.Hostname())
	for _, p := range []string{"www.", "m.", "music."} {
		host = strings.TrimPrefix(host, p)
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch host {
	case "youtu.be":
		if len(segs) == 1 {
			id = segs[0]
		}
	case "youtube.com", "youtube-nocookie.com":
		switch {
		case len(segs) == 1 && segs[0] == "watch":
			id = u.Query().Get("v")
		case len(segs) == 2 && (segs[0] == "shorts" || segs[0] == "live" || segs[0] == "embed" || segs[0] == "v"):
			id, short = segs[1], segs[0] == "shorts"
		}
	}
	if !validID(id) {
		return "", false, false
	}
	return id, short, true
}

// validID reports whether s has the shape of a YouTube video id.
func validID(s string) bool {
	if len(s) != 11 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
