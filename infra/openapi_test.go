package main

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/importer"
	"github.com/vibecode/vibecode/shared/search"
)

// openAPIFile is the OpenAPI description of the api function, relative to this package.
const openAPIFile = "../docs/openapi.yaml"

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIDoc is a parsed OpenAPI document as generic YAML values.
type openAPIDoc struct {
	root map[string]any
}

// loadOpenAPI parses docs/openapi.yaml into generic values with string map keys (YAML may
// write response codes unquoted, which yaml.v3 decodes as integers).
func loadOpenAPI(t *testing.T) *openAPIDoc {
	t.Helper()
	b, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	var raw any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v", openAPIFile, err)
	}
	root, ok := normalizeYAML(raw).(map[string]any)
	if !ok {
		t.Fatalf("%s: top level is not a mapping", openAPIFile)
	}
	return &openAPIDoc{root: root}
}

func normalizeYAML(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = normalizeYAML(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = normalizeYAML(e)
		}
		return v
	default:
		return v
	}
}

// pointer resolves a local reference such as "#/components/schemas/User".
func (d *openAPIDoc) pointer(ref string) (any, error) {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local to the document", ref)
	}
	var cur any = d.root
	if frag == "" {
		return cur, nil
	}
	if !strings.HasPrefix(frag, "/") {
		return nil, fmt.Errorf("$ref %q is not a JSON pointer", ref)
	}
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("$ref %q: no %q", ref, tok)
			}
			cur = next
		default:
			return nil, fmt.Errorf("$ref %q: %q is not inside a mapping", ref, tok)
		}
	}
	return cur, nil
}

// resolve follows $ref chains; a broken one yields nil (TestOpenAPI_MatchesTemplate reports it).
func (d *openAPIDoc) resolve(v any) map[string]any {
	for range 32 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		if v, _ = d.pointer(ref); v == nil {
			return nil
		}
	}
	return nil // a reference cycle
}

// refs returns every $ref in v with where it occurs.
func refs(v any, where string, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && k == "$ref" {
				out[where] = s
				continue
			}
			refs(e, where+"/"+k, out)
		}
	case []any:
		for i, e := range v {
			refs(e, fmt.Sprintf("%s/%d", where, i), out)
		}
	}
}

// openAPIOperation is one operation of the document.
type openAPIOperation struct {
	method, path string
	op           map[string]any
	params       []map[string]any // the path item's and the operation's, resolved
	security     []any            // the operation's, else the document's; nil when neither says
	hasSecurity  bool
}

func (d *openAPIDoc) operations(t *testing.T) map[string]*openAPIOperation {
	t.Helper()
	paths, ok := d.root["paths"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no paths", openAPIFile)
	}
	rootSec, rootHasSec := d.root["security"].([]any)
	ops := map[string]*openAPIOperation{}
	for p, item := range paths {
		item := d.resolve(item)
		if item == nil {
			t.Errorf("path %s is not a mapping", p)
			continue
		}
		for _, m := range openAPIMethods {
			raw, ok := item[m]
			if !ok {
				continue
			}
			op, ok := raw.(map[string]any)
			if !ok {
				t.Errorf("%s %s is not a mapping", strings.ToUpper(m), p)
				continue
			}
			o := &openAPIOperation{method: strings.ToUpper(m), path: p, op: op}
			for _, list := range []any{item["parameters"], op["parameters"]} {
				ps, _ := list.([]any)
				for _, prm := range ps {
					if r := d.resolve(prm); r != nil {
						o.params = append(o.params, r)
					}
				}
			}
			if sec, ok := op["security"]; ok {
				o.security, _ = sec.([]any)
				o.hasSecurity = true
			} else if rootHasSec {
				o.security, o.hasSecurity = rootSec, true
			}
			ops[o.method+" "+p] = o
		}
	}
	return ops
}

var (
	greedyParam  = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\+\}`)
	muxRestParam = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\.\.\.\}`)
	pathParam    = regexp.MustCompile(`\{([^{}]+)\}`)
)

// TestOpenAPI_MatchesTemplate keeps docs/openapi.yaml true to the routes: it describes exactly
// the operations template.yaml routes to the api function (and the api function serves), each
// with an operationId, a summary, a declared security, a success answer, a 4xx answer where
// the route takes input, a 401 where it needs credentials, its path parameters, and JSON
// Error bodies for 4xx; and every $ref in it resolves.
func TestOpenAPI_MatchesTemplate(t *testing.T) {
	doc := loadOpenAPI(t)
	if v, _ := doc.root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}

	// Every $ref resolves.
	all := map[string]string{}
	refs(doc.root, "#", all)
	if len(all) == 0 {
		t.Error("the document has no $ref at all; is it the right file?")
	}
	for where, ref := range all {
		if _, err := doc.pointer(ref); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}

	ops := doc.operations(t)

	// The operations are exactly the template's routes, and the function's own.
	want := map[string]bool{}
	greedy := map[string][]string{} // OpenAPI path → its greedy parameters
	for _, r := range templateRoutes(t) {
		p := greedyParam.ReplaceAllString(r.Path, "{$1}")
		want[r.Method+" "+p] = true
		for _, m := range greedyParam.FindAllStringSubmatch(r.Path, -1) {
			greedy[p] = append(greedy[p], m[1])
		}
	}
	served := map[string]bool{}
	for _, patterns := range servedRoutes() {
		for _, pattern := range patterns {
			served[muxRestParam.ReplaceAllString(pattern, "{$1}")] = true
		}
	}
	documented := map[string]bool{}
	for k := range ops {
		documented[k] = true
	}
	diffSets(t, "template.yaml", want, documented)
	diffSets(t, "the functions' routes()", served, documented)

	opIDs := map[string]string{}
	for _, key := range sortedKeys(ops) {
		o := ops[key]
		id, _ := o.op["operationId"].(string)
		switch {
		case id == "":
			t.Errorf("%s has no operationId", key)
		case opIDs[id] != "":
			t.Errorf("%s and %s share operationId %q", opIDs[id], key, id)
		default:
			opIDs[id] = key
		}
		if s, _ := o.op["summary"].(string); strings.TrimSpace(s) == "" {
			t.Errorf("%s has no summary", key)
		}
		if !o.hasSecurity {
			t.Errorf("%s declares no security (use security: [] for a public route)", key)
		}

		// Path parameters: each {name} of the path is one required path parameter, and a
		// greedy one says so.
		inPath := map[string]map[string]any{}
		for _, prm := range o.params {
			if prm["in"] == "path" {
				name, _ := prm["name"].(string)
				inPath[name] = prm
			}
		}
		var names []string
		for _, m := range pathParam.FindAllStringSubmatch(o.path, -1) {
			names = append(names, m[1])
			prm, ok := inPath[m[1]]
			if !ok {
				t.Errorf("%s: path parameter %q is not declared", key, m[1])
				continue
			}
			if prm["required"] != true {
				t.Errorf("%s: path parameter %q is not required: true", key, m[1])
			}
			if slices.Contains(greedy[o.path], m[1]) && prm["x-greedy"] != true {
				t.Errorf("%s: path parameter %q is greedy ({%s+}) but lacks x-greedy: true", key, m[1], m[1])
			}
		}
		for name := range inPath {
			if !slices.Contains(names, name) {
				t.Errorf("%s: declares path parameter %q that the path does not have", key, name)
			}
		}

		responses, _ := o.op["responses"].(map[string]any)
		var ok2xx3xx, has4xx bool
		for code, resp := range responses {
			switch {
			case code == "" || (code[0] != '2' && code[0] != '3' && code[0] != '4' && code[0] != '5' && code != "default"):
				t.Errorf("%s: response %q is not a status code", key, code)
			case code[0] == '2' || code[0] == '3':
				ok2xx3xx = true
			case code[0] == '4':
				has4xx = true
				r := doc.resolve(resp)
				content, _ := r["content"].(map[string]any)
				media, _ := content["application/json"].(map[string]any)
				schema, _ := media["schema"].(map[string]any)
				if schema["$ref"] != "#/components/schemas/Error" {
					t.Errorf("%s: response %s is not an application/json Error body", key, code)
				}
			}
		}
		if !ok2xx3xx {
			t.Errorf("%s has no 2xx or 3xx response", key)
		}
		secured := len(o.security) > 0
		for _, req := range o.security {
			if m, _ := req.(map[string]any); len(m) == 0 {
				secured = false // {} makes credentials optional
			}
		}
		takesInput := len(o.params) > 0 || o.op["requestBody"] != nil || secured
		if takesInput && !has4xx {
			t.Errorf("%s takes input but documents no 4xx response", key)
		}
		if _, ok := responses["401"]; secured && !ok {
			t.Errorf("%s requires credentials but documents no 401", key)
		}
	}
}

// TestOpenAPI_SchemasMatchTypes keeps the component schemas in step with the JSON the
// handlers write: the same property names, required exactly when the field has no omitempty.
func TestOpenAPI_SchemasMatchTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	types := map[string]reflect.Type{
		"User":      reflect.TypeFor[domain.User](),
		"Workspace": reflect.TypeFor[domain.Workspace](),
		"Project":   reflect.TypeFor[domain.Project](),
		"File":      reflect.TypeFor[domain.File](),
		"APIKey":    reflect.TypeFor[domain.APIKey](),
		"Tokens":    reflect.TypeFor[auth.Tokens](),

		"IndexStatus":  reflect.TypeFor[domain.IndexStatus](),
		"IndexEntry":   reflect.TypeFor[domain.IndexEntry](),
		"SearchHit":    reflect.TypeFor[search.Hit](),
		"SearchResult": reflect.TypeFor[search.Result](),
		"ImportReport": reflect.TypeFor[importer.Report](),
	}
	for _, name := range []string{"User", "Workspace", "Project", "File", "APIKey", "Tokens", "Error", "Readiness"} {
		if _, err := doc.pointer("#/components/schemas/" + name); err != nil {
			t.Errorf("component schema %s is missing", name)
		}
	}
	for name, typ := range types {
		schema := doc.resolve(map[string]any{"$ref": "#/components/schemas/" + name})
		if schema == nil {
			continue // reported above
		}
		props, _ := schema["properties"].(map[string]any)
		reqList, _ := schema["required"].([]any)
		var gotProps, gotReq, wantProps, wantReq []string
		for p := range props {
			gotProps = append(gotProps, p)
		}
		for _, r := range reqList {
			gotReq = append(gotReq, fmt.Sprint(r))
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := f.Tag.Get("json")
			jsonName, opts, _ := strings.Cut(tag, ",")
			if !f.IsExported() || jsonName == "-" {
				continue
			}
			if jsonName == "" {
				jsonName = f.Name
			}
			wantProps = append(wantProps, jsonName)
			if !slices.Contains(strings.Split(opts, ","), "omitempty") {
				wantReq = append(wantReq, jsonName)
			}
		}
		sort.Strings(gotProps)
		sort.Strings(gotReq)
		sort.Strings(wantProps)
		sort.Strings(wantReq)
		if !slices.Equal(gotProps, wantProps) {
			t.Errorf("schema %s properties = %v, the JSON of %s has %v", name, gotProps, typ, wantProps)
		}
		if !slices.Equal(gotReq, wantReq) {
			t.Errorf("schema %s required = %v, the JSON of %s always has %v", name, gotReq, typ, wantReq)
		}
	}
}

// diffSets reports what is in want but not got and the other way round.
func diffSets(t *testing.T, wantName string, want, got map[string]bool) {
	t.Helper()
	for _, k := range sortedKeys(want) {
		if !got[k] {
			t.Errorf("%s has %s, which %s does not describe", wantName, k, openAPIFile)
		}
	}
	for _, k := range sortedKeys(got) {
		if !want[k] {
			t.Errorf("%s describes %s, which %s does not have", openAPIFile, k, wantName)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
