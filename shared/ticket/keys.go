package ticket

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vibecode/vibecode/shared/domain"
)

// Key file names LoadOrCreateKeyFiles uses in a data directory; the agent reads the public one
// (config.Agent.TicketPublicKeyFile) when TICKET_PUBLIC_KEY is unset, so `make run` works with
// no configuration.
const (
	PrivateKeyFile = "ticket-ed25519.key"
	PublicKeyFile  = "ticket-ed25519.pub"
)

// GenerateKey returns a new Ed25519 key pair for signing tickets.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("ticket: generate key: %w", err)
	}
	return pub, priv, nil
}

// EncodePublicKey returns pub as standard base64 (44 characters), the form of
// TICKET_PUBLIC_KEY.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// EncodePrivateKey returns priv's 32-byte seed as standard base64, the form of
// TICKET_PRIVATE_KEY. The seed is all that is secret; the rest of the key derives from it.
func EncodePrivateKey(priv ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(priv.Seed())
}

// DecodePublicKey parses a base64 (standard or URL alphabet, padded or not) Ed25519 public key.
func DecodePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := decodeBase64(s)
	if err != nil {
		return nil, fmt.Errorf("ticket: public key: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("ticket: public key has %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// DecodePrivateKey parses a base64 Ed25519 private key: the 32-byte seed EncodePrivateKey
// writes, or the 64-byte seed+public form other tools write.
func DecodePrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := decodeBase64(s)
	if err != nil {
		return nil, fmt.Errorf("ticket: private key: %w", err)
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		priv := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
		if !priv.Equal(ed25519.PrivateKey(b)) {
			return nil, errors.New("ticket: private key: public half does not match the seed")
		}
		return priv, nil
	default:
		return nil, fmt.Errorf("ticket: private key has %d bytes, want %d or %d", len(b), ed25519.SeedSize, ed25519.PrivateKeySize)
	}
}

// ReadPublicKeyFile reads a public key written by LoadOrCreateKeyFiles (or by hand: base64 on
// one line).
func ReadPublicKeyFile(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ticket: read public key: %w", err)
	}
	return DecodePublicKey(string(b))
}

// LoadOrCreateKeyFiles returns the key pair kept in dir, creating it on first use (private
// key mode 0600). It is for local stacks that run without TICKET_PRIVATE_KEY; deployments set
// the keys explicitly.
func LoadOrCreateKeyFiles(dir string) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	privPath := filepath.Join(dir, PrivateKeyFile)
	b, err := os.ReadFile(privPath)
	if err == nil {
		priv, err := DecodePrivateKey(string(b))
		if err != nil {
			return nil, nil, err
		}
		pub := priv.Public().(ed25519.PublicKey)
		// Rewrite the public half if it is missing or stale; it is derived data.
		if err := writeFileAtomic(filepath.Join(dir, PublicKeyFile), []byte(EncodePublicKey(pub)+"\n"), 0o644); err != nil {
			return nil, nil, err
		}
		return pub, priv, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("ticket: read private key: %w", err)
	}
	pub, priv, err := GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("ticket: create key dir: %w", err)
	}
	// Link instead of rename, so that two processes starting at once agree on one key: the
	// loser finds the winner's file and loads it.
	tmp := privPath + ".new-" + domain.NewID()
	if err := writeFileAtomic(tmp, []byte(EncodePrivateKey(priv)+"\n"), 0o600); err != nil {
		return nil, nil, err
	}
	err = os.Link(tmp, privPath)
	_ = os.Remove(tmp)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKeyFiles(dir)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("ticket: write private key: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, PublicKeyFile), []byte(EncodePublicKey(pub)+"\n"), 0o644); err != nil {
		return nil, nil, err
	}
	return pub, priv, nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("ticket: write %s: %w", filepath.Base(path), err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("ticket: write %s: %w", filepath.Base(path), err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("ticket: write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("ticket: write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("ticket: write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("ticket: write %s: %w", filepath.Base(path), err)
	}
	return nil
}
