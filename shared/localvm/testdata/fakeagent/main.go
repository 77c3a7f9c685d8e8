// Command fakeagent stands in for the workspace agent in tests of the lifecycle: it reads
// the agent's environment contract, serves /healthz, keeps a "scrollback" in memory that it
// saves to its state dir on SIGTERM and restores at start (as the real agent restores
// terminals), counts its boots, and sends heartbeats to the control plane. Tests drive it:
//
//	POST /type?text=…      appends to the scrollback and counts as terminal input (sends a heartbeat now)
//	POST /clients?n=…      sets the number of connected clients (sends a heartbeat now)
//	GET  /scrollback       the scrollback
//	GET  /boots            how many times the agent started over this state dir
//	GET  /file?path=…      a file of the workspace dir
//	GET  /env?name=…       one of its environment variables (to check none leak)
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type agent struct {
	state, files, cp, token, ws string

	mu         sync.Mutex
	scrollback string
	lastInput  *time.Time
	clients    int
}

func main() {
	a := &agent{
		state: os.Getenv("AGENT_STATE_DIR"),
		files: os.Getenv("WORKSPACE_DIR"),
		cp:    os.Getenv("AGENT_CONTROL_PLANE_URL"),
		token: os.Getenv("AGENT_TOKEN"),
		ws:    os.Getenv("WORKSPACE_ID"),
	}
	b, _ := os.ReadFile(filepath.Join(a.state, "scrollback"))
	a.scrollback = string(b)
	boots := 1
	if b, err := os.ReadFile(filepath.Join(a.state, "boots")); err == nil {
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		boots = n + 1
	}
	_ = os.WriteFile(filepath.Join(a.state, "boots"), []byte(strconv.Itoa(boots)), 0o600)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /boots", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, boots) })
	mux.HandleFunc("GET /scrollback", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		fmt.Fprint(w, a.scrollback)
	})
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Join(a.files, filepath.FromSlash(r.URL.Query().Get("path"))))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("GET /env", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getenv(r.URL.Query().Get("name"))) })
	mux.HandleFunc("POST /type", func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UTC()
		a.mu.Lock()
		a.scrollback += r.URL.Query().Get("text")
		a.lastInput = &now
		a.mu.Unlock()
		a.reply(w)
	})
	mux.HandleFunc("POST /clients", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		a.mu.Lock()
		a.clients = n
		a.mu.Unlock()
		a.reply(w)
	})
	srv := &http.Server{Addr: os.Getenv("AGENT_ADDR"), Handler: mux}

	interval, err := time.ParseDuration(os.Getenv("AGENT_HEARTBEAT_INTERVAL"))
	if err != nil || interval <= 0 {
		interval = 30 * time.Second
	}
	go func() {
		for range time.Tick(interval) {
			a.heartbeat()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		a.mu.Lock()
		_ = os.WriteFile(filepath.Join(a.state, "scrollback"), []byte(a.scrollback), 0o600)
		a.mu.Unlock()
		os.Exit(0)
	}()
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "fakeagent:", err)
		os.Exit(1)
	}
}

// reply sends a heartbeat now and answers with the control plane's status and body.
func (a *agent) reply(w http.ResponseWriter) {
	status, body := a.heartbeat()
	w.WriteHeader(status)
	w.Write(body)
}

func (a *agent) heartbeat() (int, []byte) {
	a.mu.Lock()
	hb := map[string]any{"terminal_clients": a.clients, "collab_clients": 0}
	if a.lastInput != nil {
		hb["last_input_at"] = a.lastInput.Format(time.RFC3339Nano)
		hb["last_output_at"] = a.lastInput.Format(time.RFC3339Nano)
	}
	a.mu.Unlock()
	b, _ := json.Marshal(hb)
	req, err := http.NewRequest(http.MethodPost, a.cp+"/api/workspaces/"+a.ws+"/heartbeat", bytes.NewReader(b))
	if err != nil {
		return http.StatusBadGateway, []byte(err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return http.StatusBadGateway, []byte(err.Error())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}
