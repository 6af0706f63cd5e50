package platform

import (
	"fmt"
	"sort"
	"sync"

	"github.com/payper/payper/internal/errs"
)

// Registry holds the connectors a payper server is configured with, by
// platform name. It is safe for concurrent use.
type Registry struct {
	mu sync.RWMutex
	m  map[Name]Connector
}

// NewRegistry returns a registry holding cs.
func NewRegistry(cs ...Connector) *Registry {
	r := &Registry{m: map[Name]Connector{}}
	for _, c := range cs {
		r.Set(c)
	}
	return r
}

// Set adds c, replacing any connector of the same platform.
func (r *Registry) Set(c Connector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[c.Name()] = c
}

// Get returns the connector of platform n, or an errs Invalid error
// (code platform_unavailable, field "platform") when none is configured.
func (r *Registry) Get(n Name) (Connector, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if c, ok := r.m[n]; ok {
		return c, nil
	}
	if !n.Valid() {
		return nil, errs.Invalidf("platform", "unknown_platform", "unknown platform %q", string(n))
	}
	return nil, errs.Invalidf("platform", "platform_unavailable", "platform %s is not configured on this server", n)
}

// Names lists the configured platforms, sorted.
func (r *Registry) Names() []Name {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Name, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// String lists the configured platforms.
func (r *Registry) String() string { return fmt.Sprint(r.Names()) }
