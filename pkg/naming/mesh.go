package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// MeshIdentity names the mesh that wrote an object or Helm release:
// <project>/<stack>/<component name>. Two stacks on the same clusters have
// different identities, so each sees the other's objects as foreign. It is
// not a secret.
type MeshIdentity string

// NewMeshIdentity is the identity of the component name in project and stack.
func NewMeshIdentity(project, stack, name string) (MeshIdentity, error) {
	id := MeshIdentity(project + "/" + stack + "/" + name)
	if err := id.Validate(); err != nil {
		return "", err
	}
	return id, nil
}

// Validate checks that the identity has three non-empty parts; only the
// component name may contain '/' (Pulumi project and stack names cannot).
func (m MeshIdentity) Validate() error {
	parts := strings.SplitN(string(m), "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return fmt.Errorf("mesh identity %q is not <project>/<stack>/<name>", string(m))
	}
	return nil
}

// LabelValue is the identity as a Helm release label: label values hold 63
// characters of [A-Za-z0-9._-], so it is the readable start of the identity
// (each '/' as '.') and a hash of the whole, which keeps two identities
// apart when their readable forms meet. "" stays "".
func (m MeshIdentity) LabelValue() string {
	if m == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(m))
	suffix := "-" + hex.EncodeToString(sum[:])[:10]
	readable := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '.'
	}, string(m))
	if max := 63 - len(suffix); len(readable) > max {
		readable = readable[:max]
	}
	readable = strings.TrimLeft(readable, "-_.")
	if readable == "" {
		return suffix[1:]
	}
	return readable + suffix
}
