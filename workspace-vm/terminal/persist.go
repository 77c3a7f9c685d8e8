package terminal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// stateVersion changes when the saved format does; other versions are ignored.
const stateVersion = 1

// savedState is what survives an agent restart: <id>.json holds it, <id>.scrollback the ring.
type savedState struct {
	Version   int       `json:"version"`
	ID        string    `json:"id"`
	Cwd       string    `json:"cwd"`
	Cols      int       `json:"cols"`
	Rows      int       `json:"rows"`
	Modes     uint32    `json:"modes"`
	Wrapped   bool      `json:"wrapped"`
	CreatedAt time.Time `json:"createdAt"`
	SavedAt   time.Time `json:"savedAt"`

	Scrollback []byte `json:"-"`
}

// store keeps saved sessions in <state dir>/terminals.
type store struct {
	dir string
	ttl time.Duration
}

func openStore(stateDir string, ttl time.Duration) (*store, error) {
	dir := filepath.Join(stateDir, "terminals")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("terminal: state dir: %w", err)
	}
	st := &store{dir: dir, ttl: ttl}
	// Sweep state nobody came back for, and leftovers of interrupted writes.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("terminal: state dir: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.Contains(name, ".tmp"):
			_ = os.Remove(filepath.Join(dir, name))
		case strings.HasSuffix(name, ".json"):
			id := strings.TrimSuffix(name, ".json")
			if s, err := st.meta(id); err != nil || s == nil {
				_ = st.remove(id)
			}
		}
	}
	return st, nil
}

// meta reads <id>.json; nil without error when there is none, or it is stale or foreign.
func (st *store) meta(id string) (*savedState, error) {
	if !ValidID(id) {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(st.dir, id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("terminal: read state: %w", err)
	}
	var s savedState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("terminal: parse state %s: %w", id, err)
	}
	if s.Version != stateVersion || s.ID != id || time.Since(s.SavedAt) > st.ttl {
		return nil, nil
	}
	return &s, nil
}

// load returns the saved session id, or nil.
func (st *store) load(id string) (*savedState, error) {
	s, err := st.meta(id)
	if s == nil || err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(st.dir, id+".scrollback"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("terminal: read scrollback: %w", err)
	}
	s.Scrollback = b
	return s, nil
}

func (st *store) list() []savedState {
	entries, err := os.ReadDir(st.dir)
	if err != nil {
		return nil
	}
	var out []savedState
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			if s, err := st.meta(id); err == nil && s != nil {
				out = append(out, *s)
			}
		}
	}
	return out
}

// save writes the scrollback and then the metadata, each atomically and fsync'd, so a crash
// leaves either the old state or the new one.
func (st *store) save(s *savedState) error {
	s.Version, s.SavedAt = stateVersion, time.Now()
	meta, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("terminal: encode state: %w", err)
	}
	if err := st.writeFile(s.ID+".scrollback", s.Scrollback); err != nil {
		return err
	}
	if err := st.writeFile(s.ID+".json", meta); err != nil {
		return err
	}
	return st.syncDir()
}

func (st *store) remove(id string) error {
	var errs []error
	for _, name := range []string{id + ".json", id + ".scrollback"} {
		if err := os.Remove(filepath.Join(st.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("terminal: remove state: %w", err)
	}
	return st.syncDir()
}

func (st *store) writeFile(name string, data []byte) error {
	f, err := os.CreateTemp(st.dir, name+".tmp*")
	if err != nil {
		return fmt.Errorf("terminal: write %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(st.dir, name))
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("terminal: write %s: %w", name, err)
	}
	return nil
}

func (st *store) syncDir() error {
	d, err := os.Open(st.dir)
	if err != nil {
		return fmt.Errorf("terminal: sync state dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("terminal: sync state dir: %w", err)
	}
	return nil
}
