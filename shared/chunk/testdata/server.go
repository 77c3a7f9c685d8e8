// Package server is a fixture for the chunker tests: small declarations that share a
// chunk, a method with a doc comment, and a method long enough to be split.
package server

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// Errors returned by the server.
var (
	ErrClosed  = errors.New("server closed")
	ErrTimeout = errors.New("timeout")
)

const maxConns = 10

// Server serves HTTP.
type Server struct {
	mu    sync.Mutex
	conns int
}

// Name returns the server's name.
func (s *Server) Name() string { return "srv" }

// Handle serves one request.
//
// It is long enough to be split when the budget is small.
func (s *Server) Handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	s.conns++
	n := s.conns
	s.mu.Unlock()

	switch {
	case n > maxConns:
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	case n == 1:
		w.Header().Set("X-First", "yes")
		fallthrough
	default:
		w.WriteHeader(http.StatusOK)
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "line %d of the response body for connection %d\n", i, n)
	}
	defer func() {
		s.mu.Lock()
		s.conns--
		s.mu.Unlock()
	}()
}

// Pair is a generic pair.
type Pair[K comparable, V any] struct {
	Key K
	Val V
}

// Keys returns the pair's key as a slice.
func (p *Pair[K, V]) Keys() []K { return []K{p.Key} }
