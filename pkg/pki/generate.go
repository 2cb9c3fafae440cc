package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"go.step.sm/crypto/keyutil"
	"go.step.sm/crypto/x509util"
)

// KeyType names the algorithm of a CA key.
type KeyType string

// The key types; the empty KeyType means RSA.
const (
	RSA   KeyType = "RSA"
	ECDSA KeyType = "ECDSA"
)

const (
	// DefaultRSABits matches Istio's own tooling for plug-in CAs.
	DefaultRSABits = 4096
	// DefaultCurve is the curve of ECDSA keys when none is named.
	DefaultCurve = "P-256"
	// serialBits is the size of every serial number we issue.
	serialBits = 128
)

// KeySpec says which key to generate. Zero fields take defaults: RSA,
// DefaultRSABits, DefaultCurve. The field that does not apply to Type is
// ignored, so a caller may fill both from its own defaults.
type KeySpec struct {
	Type    KeyType
	RSABits int
	Curve   string
}

// CA is a certificate with its private key, parsed and PEM-encoded.
// KeyPEM is always unencrypted PKCS#8 ("PRIVATE KEY"), which istiod accepts.
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
	KeyPEM  []byte
}

func (s KeySpec) withDefaults() KeySpec {
	if s.Type == "" {
		s.Type = RSA
	}
	if s.RSABits == 0 {
		s.RSABits = DefaultRSABits
	}
	if s.Curve == "" {
		s.Curve = DefaultCurve
	}
	return s
}

// Validate reports a spec GenerateKey would refuse, after defaults apply.
func (s KeySpec) Validate() error {
	s = s.withDefaults()
	switch s.Type {
	case RSA:
		switch s.RSABits {
		case 2048, 3072, 4096:
			return nil
		}
		return fmt.Errorf("unsupported RSA key size %d: use 2048, 3072 or 4096", s.RSABits)
	case ECDSA:
		switch s.Curve {
		case "P-256", "P-384":
			return nil
		}
		return fmt.Errorf("unsupported ECDSA curve %q: use P-256 or P-384", s.Curve)
	}
	return fmt.Errorf("unsupported key type %q: use %s or %s", s.Type, RSA, ECDSA)
}

// GenerateKey creates a private key in memory.
func GenerateKey(spec KeySpec) (crypto.Signer, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec = spec.withDefaults()
	var (
		key crypto.Signer
		err error
	)
	if spec.Type == RSA {
		key, err = keyutil.GenerateSigner("RSA", "", spec.RSABits)
	} else {
		key, err = keyutil.GenerateSigner("EC", spec.Curve, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("generating %s key: %w", spec.Type, err)
	}
	return key, nil
}

// generateSerial returns a random serial of exactly serialBits bits: the top
// bit is forced so the length is fixed, leaving 127 random bits, well above
// the 64 that RFC 5280 and the CA/B forum ask for.
func generateSerial() (*big.Int, error) {
	b := make([]byte, serialBits/8)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generating serial number: %w", err)
	}
	b[0] |= 0x80
	return new(big.Int).SetBytes(b), nil
}

// validityWindow turns a start and TTL into certificate bounds. The start is
// moved back by Backdate so a peer whose clock runs a little behind still
// accepts the certificate, and truncated to whole seconds because that is
// all X.509 stores (comparisons with parsed certificates stay exact).
func validityWindow(notBefore time.Time, ttl time.Duration) (time.Time, time.Time, error) {
	if notBefore.IsZero() {
		return time.Time{}, time.Time{}, fmt.Errorf("NotBefore is required: pass the current time")
	}
	if ttl <= 0 {
		return time.Time{}, time.Time{}, fmt.Errorf("TTL must be positive, got %s", ttl)
	}
	nb := notBefore.UTC().Add(-Backdate).Truncate(time.Second)
	return nb, nb.Add(ttl), nil
}

// issue signs template with the parent's key and wraps the result with key.
// A self-signed certificate passes template as parent.
func issue(template, parent *x509.Certificate, parentKey, key crypto.Signer) (*CA, error) {
	serial, err := generateSerial()
	if err != nil {
		return nil, err
	}
	template.SerialNumber = serial
	if template.SubjectKeyId, err = x509util.GenerateSubjectKeyID(key.Public()); err != nil {
		return nil, fmt.Errorf("computing subject key identifier: %w", err)
	}
	cert, err := x509util.CreateCertificate(template, parent, key.Public(), parentKey)
	if err != nil {
		return nil, fmt.Errorf("signing certificate %q: %w", template.Subject.CommonName, err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCert(cert), KeyPEM: keyPEM}, nil
}

func encodeCert(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}
