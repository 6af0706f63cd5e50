package main

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// connLimiter is a listener that keeps at most max connections open. A
// connection arriving at the cap takes the place of the one that has waited
// longest without a request in flight (an idle keep-alive connection, or one
// that has sent nothing yet), which is closed; only when every connection
// is busy with a request does Accept wait for one to finish. So a flood of
// idle connections can neither exhaust file descriptors nor keep a health
// check (or any new client) out. Its ConnState must be the http.Server's.
type connLimiter struct {
	net.Listener
	max int

	mu    sync.Mutex
	freed *sync.Cond
	// conns holds every open connection and when it last became
	// evictable (new or idle); busy ones have the zero time.
	conns   map[net.Conn]time.Time
	evicted int64
}

func newConnLimiter(ln net.Listener, max int) *connLimiter {
	l := &connLimiter{Listener: ln, max: max, conns: map[net.Conn]time.Time{}}
	l.freed = sync.NewCond(&l.mu)
	return l
}

// Accept waits for a connection and makes room for it.
func (l *connLimiter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.conns) >= l.max {
		if victim := l.longestWaiting(); victim != nil {
			delete(l.conns, victim)
			l.evicted++
			_ = victim.Close()
			continue
		}
		l.freed.Wait()
	}
	l.conns[c] = time.Now()
	return c, nil
}

// longestWaiting returns the evictable connection that became so first, or
// nil when every connection is busy.
func (l *connLimiter) longestWaiting() net.Conn {
	var victim net.Conn
	var since time.Time
	for c, t := range l.conns {
		if !t.IsZero() && (victim == nil || t.Before(since)) {
			victim, since = c, t
		}
	}
	return victim
}

// ConnState follows the server's connections: a request in flight makes
// one busy, an idle one evictable, a closed or hijacked one frees its place.
func (l *connLimiter) ConnState(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.conns[c]; !ok {
		return // evicted already
	}
	switch st {
	case http.StateActive:
		l.conns[c] = time.Time{}
	case http.StateIdle:
		l.conns[c] = time.Now()
		l.freed.Broadcast()
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
		l.freed.Broadcast()
	}
}

// Open returns how many connections are open now.
func (l *connLimiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Evicted returns how many waiting connections were closed to make room.
func (l *connLimiter) Evicted() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.evicted
}

// connHeadroom is the file descriptors kept for everything but client
// connections: the database pools (20 PostgreSQL connections, a job queue
// pool of 10, SQLite's file, WAL and readers), the platforms' HTTP clients
// (up to 256 idle connections) and the process's own files.
const connHeadroom = 512
