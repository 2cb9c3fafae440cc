package pki

import (
	"bytes"
	"crypto/x509"
	"slices"
	"testing"
	"time"

	"go.step.sm/crypto/keyutil"
	"go.step.sm/crypto/x509util"
)

func TestGenerateRoot(t *testing.T) {
	// RSA 4096 (the default) is covered by TestChainVerifies and the benchmark.
	tests := map[string]struct {
		key     KeySpec
		wantAlg x509.PublicKeyAlgorithm
	}{
		"an RSA 2048 root":    {key: KeySpec{Type: RSA, RSABits: 2048}, wantAlg: x509.RSA},
		"an ECDSA P-256 root": {key: ecP256, wantAlg: x509.ECDSA},
		"an ECDSA P-384 root": {key: KeySpec{Type: ECDSA, Curve: "P-384"}, wantAlg: x509.ECDSA},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			root := mustRoot(t, RootOptions{Key: tc.key, NotBefore: t0, TTL: 1000 * time.Hour})
			c := root.Cert

			if c.PublicKeyAlgorithm != tc.wantAlg {
				t.Errorf("public key algorithm = %s, want %s", c.PublicKeyAlgorithm, tc.wantAlg)
			}
			if got := c.Subject.Organization; !slices.Equal(got, []string{"Istio"}) {
				t.Errorf("O = %q, want [Istio]", got)
			}
			if c.Subject.CommonName != "Root CA" {
				t.Errorf("CN = %q, want Root CA", c.Subject.CommonName)
			}
			if !bytes.Equal(c.RawSubject, c.RawIssuer) {
				t.Error("root is not self-issued")
			}
			if err := c.CheckSignatureFrom(c); err != nil {
				t.Errorf("self-signature does not verify: %v", err)
			}
			if !c.BasicConstraintsValid || !c.IsCA || !hasCriticalExtension(c, oidBasicConstraints) {
				t.Error("basicConstraints is not a critical CA:TRUE")
			}
			if c.MaxPathLen > 0 || c.MaxPathLenZero {
				t.Errorf("root has a path length limit (%d), it must sign intermediates", c.MaxPathLen)
			}
			wantUsage := x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
			if c.KeyUsage != wantUsage || !hasCriticalExtension(c, oidKeyUsage) {
				t.Errorf("keyUsage = %b (critical %v), want %b critical", c.KeyUsage, hasCriticalExtension(c, oidKeyUsage), wantUsage)
			}
			if len(c.ExtKeyUsage) != 0 {
				t.Errorf("extKeyUsage = %v; a CA must not restrict it (istiod verifies with serverAuth)", c.ExtKeyUsage)
			}
			ski, _ := x509util.GenerateSubjectKeyID(c.PublicKey)
			if !bytes.Equal(c.SubjectKeyId, ski) {
				t.Errorf("subjectKeyId = %x, want %x", c.SubjectKeyId, ski)
			}
			if c.SerialNumber.BitLen() != 128 {
				t.Errorf("serial has %d bits, want 128", c.SerialNumber.BitLen())
			}
			if want := t0.Add(-Backdate); !c.NotBefore.Equal(want) {
				t.Errorf("NotBefore = %s, want %s", c.NotBefore, want)
			}
			if got := c.NotAfter.Sub(c.NotBefore); got != 1000*time.Hour {
				t.Errorf("lifetime = %s, want the TTL 1000h", got)
			}
			if len(c.DNSNames) != 0 {
				t.Errorf("SANs = %q without a suffix, want none", c.DNSNames)
			}
			if err := keyutil.VerifyPair(c.PublicKey, root.Key); err != nil {
				t.Errorf("key does not match certificate: %v", err)
			}
			checkPEMPair(t, root)
		})
	}
}

// checkPEMPair asserts the PEM fields hold exactly the parsed certificate and key.
func checkPEMPair(t *testing.T, ca *CA) {
	t.Helper()
	if got := pemTypes(ca.CertPEM); !slices.Equal(got, []string{"CERTIFICATE"}) {
		t.Fatalf("CertPEM blocks = %q", got)
	}
	if !pemCerts(t, ca.CertPEM)[0].Equal(ca.Cert) {
		t.Fatal("CertPEM is not Cert")
	}
	if got := pemTypes(ca.KeyPEM); !slices.Equal(got, []string{"PRIVATE KEY"}) {
		t.Fatalf("KeyPEM blocks = %q, want one unencrypted PKCS#8 block", got)
	}
	key, err := decodeKey(ca.KeyPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !keyutil.Equal(key, ca.Key) {
		t.Fatal("KeyPEM is not Key")
	}
}

func TestGenerateRootSANs(t *testing.T) {
	tests := map[string]struct {
		suffix string
		want   []string
	}{
		"no suffix gives no SAN":       {suffix: "", want: nil},
		"a suffix gives root.<suffix>": {suffix: "mesh.example.com", want: []string{"root.mesh.example.com"}},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			root := mustRoot(t, RootOptions{Key: ecP256, SANSuffix: tc.suffix})
			if !slices.Equal(root.Cert.DNSNames, tc.want) {
				t.Fatalf("DNS SANs = %q, want %q", root.Cert.DNSNames, tc.want)
			}
		})
	}
}

func TestGenerateRootOptions(t *testing.T) {
	tests := map[string]struct {
		opts     RootOptions
		wantLife time.Duration
		wantErr  string
	}{
		"a zero TTL means ten years":         {opts: RootOptions{Key: ecP256, NotBefore: t0}, wantLife: 87600 * time.Hour},
		"a zero NotBefore is refused":        {opts: RootOptions{Key: ecP256, TTL: time.Hour}, wantErr: "NotBefore is required"},
		"a negative TTL is refused":          {opts: RootOptions{Key: ecP256, NotBefore: t0, TTL: -time.Hour}, wantErr: "TTL must be positive"},
		"an unsupported key spec is refused": {opts: RootOptions{Key: KeySpec{Type: ECDSA, Curve: "P-224"}, NotBefore: t0}, wantErr: "unsupported ECDSA curve"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			root, err := GenerateRoot(tc.opts)
			checkErr(t, err, tc.wantErr)
			if err != nil {
				return
			}
			if got := root.Cert.NotAfter.Sub(root.Cert.NotBefore); got != tc.wantLife {
				t.Fatalf("lifetime = %s, want %s", got, tc.wantLife)
			}
		})
	}
}
