package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// t0 is "now" in every test: nothing here reads the clock.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var ecP256 = KeySpec{Type: ECDSA}

func mustRoot(t testing.TB, o RootOptions) *CA {
	t.Helper()
	if o.NotBefore.IsZero() {
		o.NotBefore = t0
	}
	root, err := GenerateRoot(o)
	if err != nil {
		t.Fatalf("GenerateRoot: %v", err)
	}
	return root
}

func mustIntermediate(t testing.TB, root *CA, o IntermediateOptions) *CA {
	t.Helper()
	if o.NotBefore.IsZero() {
		o.NotBefore = t0
	}
	if o.Cluster == "" {
		o.Cluster = "cluster1"
	}
	ca, warnings, err := GenerateIntermediate(root, o)
	if err != nil {
		t.Fatalf("GenerateIntermediate: %v", err)
	}
	if len(warnings) > 0 {
		t.Fatalf("unexpected warnings: %q", warnings)
	}
	return ca
}

// issueLeaf signs a workload certificate the way istiod would, valid for a day
// from t0, so tests can check the chain a proxy actually presents.
func issueLeaf(t testing.TB, ca *CA) (*x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := url.Parse("spiffe://cluster.local/ns/default/sa/default")
	template := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		URIs:         []*url.URL{id},
		NotBefore:    t0.Add(-time.Minute),
		NotAfter:     t0.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatalf("signing leaf: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// selfSigned builds a root with whatever shape a test needs, bypassing
// GenerateRoot's rules, to play a root a user might bring.
func selfSigned(t testing.TB, key crypto.Signer, edit func(*x509.Certificate)) *CA {
	t.Helper()
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{CommonName: "Brought Root"},
		NotBefore:             t0.Add(-time.Hour),
		NotAfter:              t0.Add(365 * 24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	if edit != nil {
		edit(template)
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		t.Fatalf("self-signing: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCert(cert)}
}

func mustECKey(t testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// pemCerts parses every block of data, failing on anything but certificates.
func pemCerts(t testing.TB, data []byte) []*x509.Certificate {
	t.Helper()
	certs, err := parseCertificates(data)
	if err != nil {
		t.Fatalf("parsing PEM certificates: %v", err)
	}
	return certs
}

func pemTypes(data []byte) []string {
	var types []string
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			return types
		}
		types = append(types, block.Type)
		data = rest
	}
}

// writeFiles puts each named content into a fresh temp directory.
func writeFiles(t testing.TB, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// openssl runs the openssl CLI in dir: an implementation independent of Go's.
func openssl(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// opensslVerify checks cert against trust anchors at t0 and fails the test
// with openssl's own words if it does not verify.
func opensslVerify(t testing.TB, dir, caFile, untrusted, cert string) {
	t.Helper()
	out, err := openssl(t, dir, "verify", "-attime", fmt.Sprint(t0.Unix()),
		"-CAfile", caFile, "-untrusted", untrusted, cert)
	if err != nil || !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify %s: %v\n%s", cert, err, out)
	}
}

func hasCriticalExtension(cert *x509.Certificate, oid []int) bool {
	for _, e := range cert.Extensions {
		if e.Id.Equal(oid) {
			return e.Critical
		}
	}
	return false
}

var (
	oidBasicConstraints = []int{2, 5, 29, 19}
	oidKeyUsage         = []int{2, 5, 29, 15}
)

var curveP256 = elliptic.P256()

func randReader() io.Reader { return rand.Reader }
