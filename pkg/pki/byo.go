package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"go.step.sm/crypto/keyutil"
)

// The checks ValidateRoot runs. Errors wrap one of these, so callers can
// tell them apart with errors.Is; the message adds what exactly was wrong.
var (
	ErrNotCA            = errors.New("not a CA")
	ErrKeyMismatch      = errors.New("key does not match the certificate")
	ErrNotYetValid      = errors.New("not yet valid")
	ErrExpired          = errors.New("expired")
	ErrValidityTooShort = errors.New("validity too short")
	ErrUnsupportedKey   = errors.New("unsupported key")
)

// minRSABits is the smallest RSA key accepted in a brought root.
const minRSABits = 2048

// ParseCA reads a CA certificate and its private key from PEM. The key may be
// PKCS#1, SEC 1 or PKCS#8, and may be encrypted ("ENCRYPTED PRIVATE KEY" or
// legacy Proc-Type encryption), in which case password decrypts it. The
// returned CA holds both re-encoded: one CERTIFICATE block, and the key as
// unencrypted PKCS#8. ParseCA only parses; ValidateRoot judges.
func ParseCA(certPEM, keyPEM []byte, password []byte) (*CA, error) {
	certs, err := parseCertificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("CA certificate: expected one certificate, found %d", len(certs))
	}
	key, err := decodeKey(keyPEM, password)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	keyOut, err := encodeKey(key)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	return &CA{Cert: certs[0], Key: key, CertPEM: encodeCert(certs[0]), KeyPEM: keyOut}, nil
}

// ValidateRoot decides whether a root the user brought can sign the mesh's
// intermediates at now and for at least minValidity more. The first failed
// check is returned, wrapping one of the Err* values above.
func ValidateRoot(root *CA, now time.Time, minValidity time.Duration) error {
	if root == nil || root.Cert == nil || root.Key == nil {
		return fmt.Errorf("root CA certificate and key are required")
	}
	cert := root.Cert
	if err := checkCA(cert); err != nil {
		return err
	}
	if err := checkCanSignCAs(cert); err != nil {
		return err
	}
	if err := checkKey(cert); err != nil {
		return err
	}
	if err := keyutil.VerifyPair(cert.PublicKey, root.Key); err != nil {
		return fmt.Errorf("%w: the private key belongs to another certificate", ErrKeyMismatch)
	}
	if now.Before(cert.NotBefore) {
		return fmt.Errorf("%w: the root CA is valid from %s, it is now %s", ErrNotYetValid, stamp(cert.NotBefore), stamp(now))
	}
	if now.After(cert.NotAfter) {
		return fmt.Errorf("%w: the root CA expired at %s, it is now %s", ErrExpired, stamp(cert.NotAfter), stamp(now))
	}
	if left := cert.NotAfter.Sub(now); left < minValidity {
		return fmt.Errorf("%w: the root CA expires at %s, %s from now; the intermediates need at least %s",
			ErrValidityTooShort, stamp(cert.NotAfter), left.Round(time.Second), minValidity)
	}
	return nil
}

// checkCA is what makes a certificate usable as an issuer or trust anchor.
func checkCA(cert *x509.Certificate) error {
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return fmt.Errorf("%w: basicConstraints does not say CA:TRUE (subject %q)", ErrNotCA, cert.Subject.String())
	}
	// No keyUsage at all means any usage; one without keyCertSign forbids signing.
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("%w: keyUsage lacks keyCertSign (subject %q)", ErrNotCA, cert.Subject.String())
	}
	return nil
}

// checkCanSignCAs refuses pathlen 0: the intermediates it would sign are CAs,
// and every verifier would reject the chain.
func checkCanSignCAs(cert *x509.Certificate) error {
	if cert.MaxPathLen == 0 && cert.MaxPathLenZero {
		return fmt.Errorf("%w: pathlen is 0, so it cannot sign intermediate CAs (subject %q)", ErrNotCA, cert.Subject.String())
	}
	return nil
}

// checkKey accepts the keys Istio and Envoy verify: RSA of 2048 bits or more,
// ECDSA on a NIST curve of 256 bits or more.
func checkKey(cert *x509.Certificate) error {
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if bits := pub.N.BitLen(); bits < minRSABits {
			return fmt.Errorf("%w: RSA key of %d bits, at least %d are required", ErrUnsupportedKey, bits, minRSABits)
		}
		return nil
	case *ecdsa.PublicKey:
		switch name := pub.Curve.Params().Name; name {
		case "P-256", "P-384", "P-521":
			return nil
		default:
			return fmt.Errorf("%w: ECDSA curve %s, use P-256, P-384 or P-521", ErrUnsupportedKey, name)
		}
	}
	return fmt.Errorf("%w: %s key, use RSA or ECDSA", ErrUnsupportedKey, cert.PublicKeyAlgorithm)
}

// parseCertificates reads one or more CERTIFICATE blocks and nothing else.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q, want CERTIFICATE", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no PEM-encoded certificate found")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("unexpected data after certificate %d", len(certs))
	}
	return certs, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ParseTrustedRoot reads a root that is only trusted, never used to sign (a
// root on its way in or out of a rotation): one CA certificate, valid now.
func ParseTrustedRoot(certPEM []byte, now time.Time) (*x509.Certificate, error) {
	certs, err := parseCertificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("root certificate: %w", err)
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("root certificate: expected one certificate, found %d", len(certs))
	}
	cert := certs[0]
	if err := checkCA(cert); err != nil {
		return nil, err
	}
	if now.After(cert.NotAfter) {
		return nil, fmt.Errorf("%w: the root CA expired at %s, it is now %s", ErrExpired, stamp(cert.NotAfter), stamp(now))
	}
	return cert, nil
}
