package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// DroppedRoots lists the certificates of before that after no longer holds:
// the roots a new root-cert.pem stops trusting. Each argument is PEM.
func DroppedRoots(before, after []byte) ([]*x509.Certificate, error) {
	if len(before) == 0 {
		return nil, nil
	}
	old, err := parseCertificates(before)
	if err != nil {
		return nil, fmt.Errorf("trusted roots before: %w", err)
	}
	kept, err := certSet(after)
	if err != nil {
		return nil, fmt.Errorf("trusted roots after: %w", err)
	}
	var out []*x509.Certificate
	for _, c := range old {
		if !kept[string(c.Raw)] {
			out = append(out, c)
		}
	}
	return out, nil
}

// Fingerprint is the SHA-256 of a certificate's DER, as `openssl x509
// -fingerprint -sha256` prints it.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hex, ":")
}

// DescribeRoot names a root for a message: its subject and fingerprint.
func DescribeRoot(cert *x509.Certificate) string {
	return fmt.Sprintf("%q (SHA-256 %s)", cert.Subject.String(), Fingerprint(cert))
}

// DescribeRoots names each root, comma-separated.
func DescribeRoots(certs []*x509.Certificate) string {
	names := make([]string, len(certs))
	for i, c := range certs {
		names[i] = DescribeRoot(c)
	}
	return strings.Join(names, ", ")
}

// VerifyChain checks that leaf chains, through intermediates, to one of the
// roots in rootsPEM at now.
func VerifyChain(leaf *x509.Certificate, intermediates []*x509.Certificate, rootsPEM []byte, now time.Time) error {
	roots := x509.NewCertPool()
	certs, err := parseCertificates(rootsPEM)
	if err != nil {
		return fmt.Errorf("roots: %w", err)
	}
	for _, c := range certs {
		roots.AddCert(c)
	}
	inter := x509.NewCertPool()
	for _, c := range intermediates {
		inter.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}
