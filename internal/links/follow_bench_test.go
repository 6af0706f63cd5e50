package links_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/links/linkstest"
	"github.com/payper/payper/internal/store/storetest"
)

// BenchmarkFollow measures what payper does for one redirect beyond
// net/http: reading the visit, resolving the cached slug, the click id,
// the visitor hash, the user agent's class, handing the click to the
// recorder and building the destination (SQLite; the clicks are written in
// the background, as in production, and their CPU is in cpu-ns/op, which
// counts the whole process's CPU time from the first redirect to the last
// click written).
func BenchmarkFollow(b *testing.B) {
	db := storetest.Open(b, storetest.SQLiteURL(b))
	l := linkstest.SeedLink(b, db)
	s, err := links.New(context.Background(), db, clock.System{}, nil, nil, nil,
		links.Config{TrustProxy: true, Recorder: links.RecorderOptions{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Recorder.Close(context.Background())
	r := httptest.NewRequest("GET", "/r/"+l.Slug+"?gclid=abc", nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
	r.Header.Set("Referer", "https://www.instagram.com/maria")
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		if _, err := s.Follow(ctx, l.Slug, s.VisitOf(r)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := s.Recorder.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(s.Recorder.Dropped())/float64(b.N), "dropped/op")
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the CPU time (user and system) the process has used:
// unlike the wall time, it does not grow when other processes take the
// cores.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
