package pki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.step.sm/crypto/keyutil"
)

func TestParseCA(t *testing.T) {
	rsaRoot := mustRoot(t, RootOptions{Key: KeySpec{Type: RSA, RSABits: 2048}})
	ecRoot := mustRoot(t, RootOptions{Key: ecP256})
	encrypted, err := EncryptKey(ecRoot.Key, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaRoot.Key.(*rsa.PrivateKey))})
	sec1DER, _ := x509.MarshalECPrivateKey(mustECKey(t, elliptic.P256()))
	sec1Other := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1DER})
	ecDER, _ := x509.MarshalECPrivateKey(ecRootKey(ecRoot))
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})

	// Keys encrypted by openssl, as a user would bring them.
	dir := writeFiles(t, map[string][]byte{"key.pem": ecRoot.KeyPEM})
	if out, err := openssl(t, dir, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "pass:s3cret", "-in", "key.pem", "-out", "pkcs8.pem"); err != nil {
		t.Fatalf("openssl pkcs8: %v\n%s", err, out)
	}
	if out, err := openssl(t, dir, "ec", "-aes256", "-passout", "pass:s3cret", "-in", "key.pem", "-out", "legacy.pem"); err != nil {
		t.Fatalf("openssl ec: %v\n%s", err, out)
	}
	opensslPKCS8, _ := os.ReadFile(filepath.Join(dir, "pkcs8.pem"))
	opensslLegacy, _ := os.ReadFile(filepath.Join(dir, "legacy.pem"))

	tests := map[string]struct {
		cert, key []byte
		password  string
		wantErr   string
	}{
		"an unencrypted PKCS#8 key":                           {cert: ecRoot.CertPEM, key: ecRoot.KeyPEM},
		"a PKCS#1 RSA key":                                    {cert: rsaRoot.CertPEM, key: pkcs1},
		"a SEC 1 EC key":                                      {cert: ecRoot.CertPEM, key: sec1},
		"an encrypted PKCS#8 key with the right password":     {cert: ecRoot.CertPEM, key: encrypted, password: "s3cret"},
		"an openssl PKCS#8 key with the right password":       {cert: ecRoot.CertPEM, key: opensslPKCS8, password: "s3cret"},
		"an openssl legacy encrypted key with the password":   {cert: ecRoot.CertPEM, key: opensslLegacy, password: "s3cret"},
		"a password given for a plain key is not needed":      {cert: ecRoot.CertPEM, key: ecRoot.KeyPEM, password: "unused"},
		"a mismatched key still parses (ValidateRoot judges)": {cert: ecRoot.CertPEM, key: sec1Other},

		"an encrypted key with the wrong password": {cert: ecRoot.CertPEM, key: encrypted, password: "wrong", wantErr: "wrong password"},
		"an openssl key with the wrong password":   {cert: ecRoot.CertPEM, key: opensslPKCS8, password: "wrong", wantErr: "wrong password"},
		"an openssl legacy key with the wrong one": {cert: ecRoot.CertPEM, key: opensslLegacy, password: "wrong", wantErr: "wrong password"},
		"an encrypted key without a password":      {cert: ecRoot.CertPEM, key: encrypted, wantErr: "a password is required"},
		"a certificate that is not PEM":            {cert: []byte("not pem"), key: ecRoot.KeyPEM, wantErr: "CA certificate: no PEM-encoded certificate"},
		"two certificates where one is expected":   {cert: append(ecRoot.CertPEM, rsaRoot.CertPEM...), key: ecRoot.KeyPEM, wantErr: "expected one certificate, found 2"},
		"a key where the certificate goes":         {cert: ecRoot.KeyPEM, key: ecRoot.KeyPEM, wantErr: `unexpected PEM block "PRIVATE KEY"`},
		"a certificate where the key goes":         {cert: ecRoot.CertPEM, key: ecRoot.CertPEM, wantErr: `CA key: unexpected PEM block "CERTIFICATE"`},
		"an empty key":                             {cert: ecRoot.CertPEM, key: nil, wantErr: "CA key: no PEM-encoded private key"},
		"a key followed by another block":          {cert: ecRoot.CertPEM, key: append(ecRoot.KeyPEM, sec1...), wantErr: "expected a single PEM block"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			var password []byte
			if tc.password != "" {
				password = []byte(tc.password)
			}
			ca, err := ParseCA(tc.cert, tc.key, password)
			checkErr(t, err, tc.wantErr)
			if err != nil {
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatal("the error repeats the password")
				}
				return
			}
			if !ca.Cert.Equal(pemCerts(t, tc.cert)[0]) {
				t.Fatal("Cert is not the given certificate")
			}
			// Whatever came in, KeyPEM is plain PKCS#8 of the same key.
			checkPEMPair(t, ca)
		})
	}
}

func ecRootKey(ca *CA) *ecdsa.PrivateKey { return ca.Key.(*ecdsa.PrivateKey) }

func TestValidateRoot(t *testing.T) {
	const minValidity = 24 * time.Hour
	generated := mustRoot(t, RootOptions{Key: ecP256})
	other := mustRoot(t, RootOptions{Key: ecP256})
	ec := func(curve elliptic.Curve, edit func(*x509.Certificate)) *CA {
		return selfSigned(t, mustECKey(t, curve), edit)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)

	tests := map[string]struct {
		root    *CA
		wantIs  error
		wantErr string
	}{
		"a generated root is accepted":                  {root: generated},
		"a brought P-256 root is accepted":              {root: ec(elliptic.P256(), nil)},
		"a brought P-521 root is accepted":              {root: ec(elliptic.P521(), nil)},
		"a root without keyUsage is accepted (any use)": {root: ec(elliptic.P256(), func(c *x509.Certificate) { c.KeyUsage = 0 })},
		"a root valid for exactly the minimum is accepted": {
			root: ec(elliptic.P256(), func(c *x509.Certificate) { c.NotAfter = t0.Add(minValidity) }),
		},

		"a certificate that is not a CA is rejected": {
			root: ec(elliptic.P256(), func(c *x509.Certificate) { c.IsCA = false }), wantIs: ErrNotCA, wantErr: "basicConstraints does not say CA:TRUE",
		},
		"a CA whose keyUsage forbids signing certificates is rejected": {
			root: ec(elliptic.P256(), func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageDigitalSignature }), wantIs: ErrNotCA, wantErr: "keyUsage lacks keyCertSign",
		},
		"a CA limited to pathlen 0 is rejected": {
			root: ec(elliptic.P256(), func(c *x509.Certificate) { c.MaxPathLenZero = true }), wantIs: ErrNotCA, wantErr: "pathlen is 0",
		},
		"a key that belongs to another certificate is rejected": {
			root: &CA{Cert: generated.Cert, Key: other.Key}, wantIs: ErrKeyMismatch, wantErr: "key does not match the certificate",
		},
		"a root not valid until later is rejected": {
			root: ec(elliptic.P256(), func(c *x509.Certificate) { c.NotBefore = t0.Add(time.Hour) }), wantIs: ErrNotYetValid, wantErr: "valid from 2026-03-01T13:00:00Z",
		},
		"an expired root is rejected": {
			root: ec(elliptic.P256(), func(c *x509.Certificate) { c.NotBefore, c.NotAfter = t0.Add(-48*time.Hour), t0.Add(-time.Minute) }), wantIs: ErrExpired, wantErr: "expired at 2026-03-01T11:59:00Z",
		},
		"a root expiring before the minimum validity is rejected": {
			root: ec(elliptic.P256(), func(c *x509.Certificate) { c.NotAfter = t0.Add(minValidity - time.Second) }), wantIs: ErrValidityTooShort, wantErr: "23h59m59s from now; the intermediates need at least 24h0m0s",
		},
		"an Ed25519 root is rejected": {
			root: selfSigned(t, ed, nil), wantIs: ErrUnsupportedKey, wantErr: "Ed25519 key, use RSA or ECDSA",
		},
		"an RSA 1024 root is rejected": {
			root: selfSigned(t, rsa1024, nil), wantIs: ErrUnsupportedKey, wantErr: "RSA key of 1024 bits, at least 2048",
		},
		"a root on curve P-224 is rejected": {
			root: ec(elliptic.P224(), nil), wantIs: ErrUnsupportedKey, wantErr: "ECDSA curve P-224",
		},
		"a missing root is rejected": {root: nil, wantErr: "certificate and key are required"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			err := ValidateRoot(tc.root, t0, minValidity)
			if tc.wantErr == "" && tc.wantIs == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("error %v is not %v", err, tc.wantIs)
			}
			checkErr(t, err, tc.wantErr)
		})
	}
}

// A root that passes ValidateRoot must also work: round-trip a brought root
// through PEM and sign a verifiable intermediate with it.
func TestBroughtRootSignsIntermediates(t *testing.T) {
	brought := selfSigned(t, mustECKey(t, elliptic.P384()), nil)
	keyPEM, err := EncryptKey(brought.Key, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := ParseCA(brought.CertPEM, keyPEM, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateRoot(root, t0, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if !keyutil.Equal(root.Key, brought.Key) {
		t.Fatal("parsed key differs from the brought one")
	}
	ca := mustIntermediate(t, root, IntermediateOptions{Key: ecP256, TTL: 24 * time.Hour})
	if err := BuildCACerts(ca, root).Verify(t0); err != nil {
		t.Fatal(err)
	}
}
