// Package gateway is the local stand-in for API Gateway: it reads the HttpApi routes out of the
// SAM template and mounts every function's http.Handler behind one http.ServeMux, routed exactly
// as the deployed API routes them. Routing from the template itself, rather than from a second
// list kept by hand, is what keeps `make run` and production from drifting apart.
//
// Known differences from API Gateway, all at the edges: ServeMux redirects unclean paths
// ("//", "/./", "/../") to their clean form, a GET route also answers HEAD, and ServeMux refuses
// some overlapping routes API Gateway would rank (GET /a/{x} beside ANY /a/b), which
// ParseTemplate reports as an error.
package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Route is one HttpApi event of one function in the SAM template.
type Route struct {
	// Function is the SAM logical ID of the function, e.g. "ApiFunction".
	Function string
	// Method is GET, POST, … or ANY, upper case.
	Method string
	// Path is the route path in API Gateway syntax, e.g. /api/workspaces/{id}/files/{path+},
	// or "$default" for an event without Path and Method.
	Path string
	// Pattern is the equivalent http.ServeMux pattern, e.g.
	// "PUT /api/workspaces/{id}/files/{path...}"; ANY routes carry no method.
	Pattern string
}

var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "ANY"}

// ParseTemplate returns the HttpApi routes of every AWS::Serverless::Function in a SAM template,
// in template order. It works on the YAML node tree, so CloudFormation's short-form tags (!Ref,
// !GetAtt, !Sub, …) parse anywhere; the Path and Method it reads must be plain strings. Other
// resources, event types and properties are ignored. It rejects what API Gateway or ServeMux
// would: a greedy {x+} that is not the last segment, a parameter that is not a whole segment or
// not a Go identifier, and two routes with the same method and path.
func ParseTemplate(yamlBytes []byte) ([]Route, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(yamlBytes, &doc); err != nil {
		return nil, fmt.Errorf("gateway: parse template: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("gateway: template is empty")
	}
	resources := get(doc.Content[0], "Resources")
	if resources == nil || resources.Kind != yaml.MappingNode {
		return nil, errors.New("gateway: template has no Resources mapping")
	}

	var routes []Route
	seen := map[string]string{} // method + shape of path → where it was defined
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, deref(resources.Content[i+1])
		if plain(get(res, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		events := get(get(res, "Properties"), "Events")
		if events == nil || events.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(events.Content); j += 2 {
			ev, event := events.Content[j].Value, deref(events.Content[j+1])
			if plain(get(event, "Type")) != "HttpApi" {
				continue
			}
			where := id + ".Events." + ev
			r, err := route(id, get(event, "Properties"))
			if err != nil {
				return nil, fmt.Errorf("gateway: %s: %w", where, err)
			}
			key := r.Method + " " + shape(r.Path)
			if prev, dup := seen[key]; dup {
				return nil, fmt.Errorf("gateway: %s: duplicate route %s %s, already defined by %s", where, r.Method, r.Path, prev)
			}
			seen[key] = where
			routes = append(routes, r)
		}
	}
	// Let ServeMux itself judge the patterns, so New cannot fail on them later.
	if _, err := mount(routes, func(Route) http.Handler { return http.NotFoundHandler() }); err != nil {
		return nil, err
	}
	return routes, nil
}

// route builds the Route of one HttpApi event from its Properties.
func route(function string, props *yaml.Node) (Route, error) {
	pathNode, methodNode := get(props, "Path"), get(props, "Method")
	if pathNode == nil && methodNode == nil {
		// SAM's default route: whatever no other route matches.
		return Route{Function: function, Method: "ANY", Path: "$default", Pattern: "/"}, nil
	}
	p, m := plain(pathNode), strings.ToUpper(plain(methodNode))
	if p == "" || m == "" {
		return Route{}, errors.New("properties Path and Method must both be plain strings, or both be absent")
	}
	if !slices.Contains(methods, m) {
		return Route{}, fmt.Errorf("unsupported method %q", m)
	}
	pattern, err := muxPath(p)
	if err != nil {
		return Route{}, fmt.Errorf("path %q: %w", p, err)
	}
	if m != "ANY" {
		pattern = m + " " + pattern
	}
	return Route{Function: function, Method: m, Path: p, Pattern: pattern}, nil
}

// muxPath translates an API Gateway route path to a ServeMux path pattern.
func muxPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", errors.New("must start with /")
	}
	if p == "/" {
		return "/{$}", nil
	}
	segs := strings.Split(p[1:], "/")
	trailingSlash := segs[len(segs)-1] == ""
	if trailingSlash {
		segs = segs[:len(segs)-1]
	}
	names := map[string]bool{}
	for i, s := range segs {
		if s == "" {
			return "", errors.New("empty segment")
		}
		if !strings.ContainsAny(s, "{}") {
			continue
		}
		if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
			return "", fmt.Errorf("parameter %q must be a whole segment", s)
		}
		name, greedy := strings.CutSuffix(s[1:len(s)-1], "+")
		if !isIdent(name) {
			return "", fmt.Errorf("parameter name %q is not a Go identifier", name)
		}
		if names[name] {
			return "", fmt.Errorf("parameter %q repeated", name)
		}
		names[name] = true
		if greedy {
			if i != len(segs)-1 || trailingSlash {
				return "", fmt.Errorf("greedy parameter %q must be the last segment", s)
			}
			segs[i] = "{" + name + "...}"
		}
	}
	out := "/" + strings.Join(segs, "/")
	if trailingSlash {
		out += "/{$}" // exactly this path; a bare trailing slash would be a prefix match
	}
	return out, nil
}

// shape is a path with its parameter names erased: /a/{x} and /a/{y} are the same route.
func shape(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
			if strings.HasSuffix(s, "+}") {
				segs[i] = "{+}"
			}
		}
	}
	return strings.Join(segs, "/")
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c != '_' && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// get returns the value of key in mapping n, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// plain returns the value of an untagged string scalar, or "" for anything else (a mapping, or
// a scalar under a tag like !Sub whose value only CloudFormation knows).
func plain(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return ""
	}
	return n.Value
}

// New returns the gateway: a handler that sends each route's requests to handlers[route.Function]
// and answers everything else with the JSON errors the API uses, 404 not_found or, when the path
// exists under other methods, 405 method_not_allowed with an Allow header. It fails, naming
// them, if any routed function has no handler.
func New(routes []Route, handlers map[string]http.Handler) (http.Handler, error) {
	var missing []string
	for _, r := range routes {
		if handlers[r.Function] == nil && !slices.Contains(missing, r.Function) {
			missing = append(missing, r.Function)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("gateway: no handler for function(s) %s", strings.Join(missing, ", "))
	}
	mux, err := mount(routes, func(r Route) http.Handler { return routed{handlers[r.Function]} })
	if err != nil {
		return nil, err
	}
	return &gateway{mux: mux}, nil
}

// mount registers every route on a new ServeMux, turning its panics on bad or conflicting
// patterns into errors.
func mount(routes []Route, handler func(Route) http.Handler) (mux *http.ServeMux, err error) {
	mux = http.NewServeMux()
	for _, r := range routes {
		func() {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("gateway: route %s %s of %s: %v", r.Method, r.Path, r.Function, p)
				}
			}()
			mux.Handle(r.Pattern, handler(r))
		}()
		if err != nil {
			return nil, err
		}
	}
	return mux, nil
}

// routed marks the handlers of real routes, to tell them from ServeMux's own 404, 405 and
// redirect handlers.
type routed struct{ http.Handler }

type gateway struct{ mux *http.ServeMux }

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, _ := g.mux.Handler(r); isRouted(h) {
		g.mux.ServeHTTP(w, r) // ServeHTTP, not h: it sets the path values
		return
	}
	g.mux.ServeHTTP(&errorWriter{ResponseWriter: w, r: r}, r)
}

func isRouted(h http.Handler) bool {
	_, ok := h.(routed)
	return ok
}

// errorWriter rewrites ServeMux's plain-text 404 and 405 as JSON. A redirect of a clean path
// means ServeMux found the route only with a slash appended; API Gateway has no such route, so
// that becomes a 404 too. Redirects of unclean paths pass through.
type errorWriter struct {
	http.ResponseWriter
	r        *http.Request
	rewrote  bool
	wroteHdr bool
}

func (e *errorWriter) WriteHeader(code int) {
	if e.wroteHdr {
		return
	}
	e.wroteHdr = true
	p := e.r.URL.EscapedPath()
	switch {
	case code == http.StatusMethodNotAllowed:
		e.rewrote = true
		writeError(e.ResponseWriter, code, "method_not_allowed", fmt.Sprintf("method %s not allowed for %s", e.r.Method, e.r.URL.Path))
	case code == http.StatusNotFound, code >= 300 && code < 400 && isClean(p):
		e.rewrote = true
		e.Header().Del("Location")
		writeError(e.ResponseWriter, http.StatusNotFound, "not_found", fmt.Sprintf("no route for %s %s", e.r.Method, e.r.URL.Path))
	default:
		e.ResponseWriter.WriteHeader(code)
	}
}

func (e *errorWriter) Write(b []byte) (int, error) {
	if !e.wroteHdr {
		e.WriteHeader(http.StatusOK)
	}
	if e.rewrote {
		return len(b), nil
	}
	return e.ResponseWriter.Write(b)
}

// isClean reports whether ServeMux would leave this path alone.
func isClean(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, message
	_ = json.NewEncoder(w).Encode(body)
}
