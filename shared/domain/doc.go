// Package domain holds VibeCode's core types and the interfaces every adapter implements.
//
// It imports only the standard library. Adapters (postgres, sqlite, redis, lru, …) implement
// the interfaces declared here and talk to each other only through these types; the HTTP
// layer and the functions depend on the interfaces, never on a concrete adapter. Wiring
// happens in the entry points (functions/<name>/main.go, the local stack, the agent).
package domain
