package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
)

// RotationSteps is how a root is replaced without an outage; every refusal of
// a one-step change quotes it.
const RotationSteps = "rotate in three `pulumi up`s: " +
	"(1) add the new root as the second entry of certificate.roots (every cluster then trusts both); " +
	"(2) move it first (intermediates are reissued from it; both roots stay trusted); " +
	"(3) once every workload certificate has renewed (24 h by default), remove the old entry"

// ErrUntrustedSigner is returned by CheckSignerChange when intermediates would
// be reissued from a root the clusters do not trust yet.
var ErrUntrustedSigner = errors.New("the new signing root is not trusted by the clusters yet")

// ErrSignerDropped is returned by CheckSignerChange when the root that signed
// the current intermediates would stop being trusted in the same step that
// replaces them.
var ErrSignerDropped = errors.New("the old signing root would stop being trusted in the same step that replaces it")

// CheckSignerChange says whether a cluster may move from (oldSigner,
// oldTrusted) to (newSigner, newTrusted) in one step without breaking mTLS
// between clusters, which do not all change at the same instant: when the
// signer changes, the new one must already be trusted and the old one must
// stay trusted. Each argument is PEM; a trust bundle is every root the cluster
// trusts (root-cert.pem), signer included. A nil newSigner is one not known
// yet, which can only be a root made in this step, so it is refused unless the
// signer was not known before either.
func CheckSignerChange(oldSigner, oldTrusted, newSigner, newTrusted []byte) error {
	oldCerts, err := certSet(oldSigner)
	if err != nil || len(oldCerts) == 0 {
		return nil // nothing trusted before: a first write cannot break anything
	}
	if newSigner == nil {
		return fmt.Errorf("%w: it is created in this update", ErrUntrustedSigner)
	}
	newCerts, err := certSet(newSigner)
	if err != nil {
		return fmt.Errorf("new signing root: %w", err)
	}
	if sameSet(oldCerts, newCerts) {
		return nil
	}
	before, err := certSet(oldTrusted)
	if err != nil {
		return fmt.Errorf("trusted roots before: %w", err)
	}
	if !subset(newCerts, before) {
		return ErrUntrustedSigner
	}
	if newTrusted == nil {
		return nil // not known yet: the bundle is checked when it is
	}
	after, err := certSet(newTrusted)
	if err != nil {
		return fmt.Errorf("trusted roots after: %w", err)
	}
	if !subset(oldCerts, after) {
		return ErrSignerDropped
	}
	return nil
}

// Certificates reads every certificate of PEM data: one or more CERTIFICATE
// blocks and nothing else, as in root-cert.pem.
func Certificates(data []byte) ([]*x509.Certificate, error) {
	return parseCertificates(data)
}

// certSet is the set of DER certificates in PEM data.
func certSet(data []byte) (map[string]bool, error) {
	if len(data) == 0 {
		return nil, nil
	}
	certs, err := parseCertificates(data)
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(certs))
	for _, c := range certs {
		set[string(c.Raw)] = true
	}
	return set, nil
}

func subset(a, b map[string]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func sameSet(a, b map[string]bool) bool { return len(a) == len(b) && subset(a, b) }

// SameCertificates says whether two PEM inputs hold the same set of
// certificates, whatever their order or encoding.
func SameCertificates(a, b []byte) bool {
	sa, errA := certSet(a)
	sb, errB := certSet(b)
	return errA == nil && errB == nil && sameSet(sa, sb)
}
