package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestChainVerifies(t *testing.T) {
	tests := map[string]struct {
		root, intermediate KeySpec
	}{
		"an RSA 4096 root (the default) over an RSA 2048 intermediate": {root: KeySpec{}, intermediate: KeySpec{Type: RSA, RSABits: 2048}},
		"RSA 3072 all the way":                   {root: KeySpec{Type: RSA, RSABits: 3072}, intermediate: KeySpec{Type: RSA, RSABits: 3072}},
		"RSA 2048 all the way":                   {root: KeySpec{Type: RSA, RSABits: 2048}, intermediate: KeySpec{Type: RSA, RSABits: 2048}},
		"ECDSA P-256 all the way":                {root: ecP256, intermediate: ecP256},
		"ECDSA P-384 all the way":                {root: KeySpec{Type: ECDSA, Curve: "P-384"}, intermediate: KeySpec{Type: ECDSA, Curve: "P-384"}},
		"an RSA root over an ECDSA intermediate": {root: KeySpec{Type: RSA, RSABits: 2048}, intermediate: ecP256},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			root := mustRoot(t, RootOptions{Key: tc.root})
			ca := mustIntermediate(t, root, IntermediateOptions{Cluster: "east", Key: tc.intermediate})
			checkKeyMatchesSpec(t, root, tc.root)
			checkKeyMatchesSpec(t, ca, tc.intermediate)

			// Go: the intermediate chains to the root, and so does a workload
			// certificate it signs, at the time the mesh is used.
			roots := x509.NewCertPool()
			roots.AddCert(root.Cert)
			if _, err := ca.Cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: t0}); err != nil {
				t.Fatalf("intermediate does not verify: %v", err)
			}
			leaf, leafPEM := issueLeaf(t, ca)
			intermediates := x509.NewCertPool()
			intermediates.AddCert(ca.Cert)
			chains, err := leaf.Verify(x509.VerifyOptions{
				Roots: roots, Intermediates: intermediates, CurrentTime: t0,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			})
			if err != nil {
				t.Fatalf("leaf does not verify: %v", err)
			}
			if len(chains[0]) != 3 {
				t.Fatalf("chain length = %d, want leaf, intermediate, root", len(chains[0]))
			}

			// OpenSSL, independently, on the files istiod is given.
			files := BuildCACerts(ca, root).Data()
			files["leaf.pem"] = leafPEM
			dir := writeFiles(t, files)
			opensslVerify(t, dir, RootCertFile, CACertFile, CACertFile)
			opensslVerify(t, dir, RootCertFile, CertChainFile, "leaf.pem")
		})
	}
}

func checkKeyMatchesSpec(t *testing.T, ca *CA, spec KeySpec) {
	t.Helper()
	spec = spec.withDefaults()
	switch k := ca.Cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if spec.Type != RSA || k.N.BitLen() != spec.RSABits {
			t.Fatalf("%s has RSA-%d, want %+v", ca.Cert.Subject.CommonName, k.N.BitLen(), spec)
		}
	case *ecdsa.PublicKey:
		if spec.Type != ECDSA || k.Curve.Params().Name != spec.Curve {
			t.Fatalf("%s has ECDSA %s, want %+v", ca.Cert.Subject.CommonName, k.Curve.Params().Name, spec)
		}
	default:
		t.Fatalf("unexpected key %T", k)
	}
}

func TestGenerateIntermediate(t *testing.T) {
	root := mustRoot(t, RootOptions{Key: ecP256, TTL: 1000 * time.Hour})
	tests := map[string]struct {
		suffix   string
		wantSANs []string
	}{
		"without a suffix only istiod's name is a SAN": {
			wantSANs: []string{"istiod.istio-system.svc"},
		},
		"a suffix adds <cluster>.<suffix>": {
			suffix: "mesh.example.com", wantSANs: []string{"istiod.istio-system.svc", "west.mesh.example.com"},
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			ca := mustIntermediate(t, root, IntermediateOptions{
				Cluster: "west", Key: ecP256, SANSuffix: tc.suffix, NotBefore: t0.Add(time.Hour), TTL: 100 * time.Hour,
			})
			c := ca.Cert
			if !slices.Equal(c.DNSNames, tc.wantSANs) {
				t.Errorf("DNS SANs = %q, want %q", c.DNSNames, tc.wantSANs)
			}
			if got := c.Subject.Organization; !slices.Equal(got, []string{"Istio"}) {
				t.Errorf("O = %q, want [Istio]", got)
			}
			if c.Subject.CommonName != "Intermediate CA" {
				t.Errorf("CN = %q, want Intermediate CA", c.Subject.CommonName)
			}
			if got := c.Subject.Locality; !slices.Equal(got, []string{"west"}) {
				t.Errorf("L = %q, want [west]", got)
			}
			if !c.BasicConstraintsValid || !c.IsCA || !hasCriticalExtension(c, oidBasicConstraints) {
				t.Error("basicConstraints is not a critical CA:TRUE")
			}
			if c.MaxPathLen != 0 || !c.MaxPathLenZero {
				t.Errorf("pathlen = %d (zero set: %v), want 0", c.MaxPathLen, c.MaxPathLenZero)
			}
			wantUsage := x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
			if c.KeyUsage != wantUsage || !hasCriticalExtension(c, oidKeyUsage) {
				t.Errorf("keyUsage = %b, want %b critical", c.KeyUsage, wantUsage)
			}
			if len(c.SubjectKeyId) == 0 || bytes.Equal(c.SubjectKeyId, root.Cert.SubjectKeyId) {
				t.Errorf("subjectKeyId = %x, want its own", c.SubjectKeyId)
			}
			if !bytes.Equal(c.AuthorityKeyId, root.Cert.SubjectKeyId) {
				t.Errorf("authorityKeyId = %x, want the root's subjectKeyId %x", c.AuthorityKeyId, root.Cert.SubjectKeyId)
			}
			if !bytes.Equal(c.RawIssuer, root.Cert.RawSubject) {
				t.Error("issuer is not the root's subject")
			}
			if c.SerialNumber.BitLen() != 128 {
				t.Errorf("serial has %d bits, want 128", c.SerialNumber.BitLen())
			}
			if want := t0.Add(time.Hour - Backdate); !c.NotBefore.Equal(want) {
				t.Errorf("NotBefore = %s, want %s", c.NotBefore, want)
			}
			if got := c.NotAfter.Sub(c.NotBefore); got != 100*time.Hour {
				t.Errorf("lifetime = %s, want 100h", got)
			}
			checkPEMPair(t, ca)
		})
	}
}

// A CA with pathlen 0 must not be able to vouch for a further CA: issue one
// anyway and check verifiers refuse it.
func TestIntermediateCannotSignAnotherCA(t *testing.T) {
	root := mustRoot(t, RootOptions{Key: ecP256})
	ca := mustIntermediate(t, root, IntermediateOptions{Key: ecP256})
	key := mustECKey(t, ca.Cert.PublicKey.(*ecdsa.PublicKey).Curve)
	template := &x509.Certificate{
		SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "rogue CA"},
		NotBefore: t0.Add(-time.Minute), NotAfter: t0.Add(time.Hour),
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(randReader(), template, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := x509.ParseCertificate(der)
	rogue := &CA{Cert: sub, Key: key}
	leaf, leafPEM := issueLeaf(t, rogue)

	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	intermediates := x509.NewCertPool()
	intermediates.AddCert(ca.Cert)
	intermediates.AddCert(sub)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates, CurrentTime: t0})
	if err == nil {
		t.Fatal("a leaf under a CA signed by the pathlen-0 intermediate verified")
	}

	dir := writeFiles(t, map[string][]byte{
		"root.pem":  root.CertPEM,
		"chain.pem": append(encodeCert(sub), ca.CertPEM...),
		"leaf.pem":  leafPEM,
	})
	out, err := openssl(t, dir, "verify", "-attime", fmt.Sprint(t0.Unix()), "-CAfile", "root.pem", "-untrusted", "chain.pem", "leaf.pem")
	if err == nil || !strings.Contains(out, "path length constraint exceeded") {
		t.Fatalf("openssl: want a path length error, got %v\n%s", err, out)
	}
}

func TestIntermediateNeverOutlivesRoot(t *testing.T) {
	root := mustRoot(t, RootOptions{Key: ecP256, TTL: 100 * time.Hour}) // ends t0+100h-5m
	tests := map[string]struct {
		notBefore   time.Time
		ttl         time.Duration
		wantEnd     time.Time
		wantWarning bool
	}{
		"a lifetime inside the root's is kept": {
			notBefore: t0, ttl: 50 * time.Hour, wantEnd: t0.Add(50*time.Hour - Backdate),
		},
		"a lifetime ending exactly with the root's is kept, without warning": {
			notBefore: t0, ttl: 100 * time.Hour, wantEnd: root.Cert.NotAfter,
		},
		"a lifetime ending one second after the root's is clamped": {
			notBefore: t0, ttl: 100*time.Hour + time.Second, wantEnd: root.Cert.NotAfter, wantWarning: true,
		},
		"the default two years under a short root are clamped": {
			notBefore: t0.Add(10 * time.Hour), wantEnd: root.Cert.NotAfter, wantWarning: true,
		},
		"a sub-second start does not clamp by rounding": {
			notBefore: t0.Add(999 * time.Millisecond), ttl: 100 * time.Hour, wantEnd: root.Cert.NotAfter,
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			ca, warnings, err := GenerateIntermediate(root, IntermediateOptions{
				Cluster: "east", Key: ecP256, NotBefore: tc.notBefore, TTL: tc.ttl,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !ca.Cert.NotAfter.Equal(tc.wantEnd) {
				t.Errorf("NotAfter = %s, want %s", ca.Cert.NotAfter, tc.wantEnd)
			}
			if ca.Cert.NotAfter.After(root.Cert.NotAfter) {
				t.Errorf("intermediate outlives the root")
			}
			if !tc.wantWarning {
				if warnings != nil {
					t.Fatalf("warnings = %q, want nil", warnings)
				}
				return
			}
			if len(warnings) != 1 {
				t.Fatalf("warnings = %q, want one", warnings)
			}
			for _, want := range []string{`cluster "east"`, "clamped", stamp(root.Cert.NotAfter)} {
				if !strings.Contains(warnings[0], want) {
					t.Errorf("warning %q does not mention %q", warnings[0], want)
				}
			}
		})
	}
}

func TestGenerateIntermediateRefuses(t *testing.T) {
	root := mustRoot(t, RootOptions{Key: ecP256, TTL: 100 * time.Hour})
	other := mustRoot(t, RootOptions{Key: ecP256})
	leafLike := selfSigned(t, mustECKey(t, curveP256), func(c *x509.Certificate) { c.IsCA = false })
	pathlenZero := selfSigned(t, mustECKey(t, curveP256), func(c *x509.Certificate) { c.MaxPathLenZero = true })
	ok := IntermediateOptions{Cluster: "east", Key: ecP256, NotBefore: t0}
	with := func(edit func(*IntermediateOptions)) IntermediateOptions {
		o := ok
		edit(&o)
		return o
	}
	tests := map[string]struct {
		root    *CA
		opts    IntermediateOptions
		wantErr string
		wantIs  error
	}{
		"an empty cluster name":          {root: root, opts: with(func(o *IntermediateOptions) { o.Cluster = "" }), wantErr: "cluster name is required"},
		"no root":                        {root: nil, opts: ok, wantErr: "root CA certificate and key are required"},
		"a root without its key":         {root: &CA{Cert: root.Cert}, opts: ok, wantErr: "root CA certificate and key are required"},
		"a root with another root's key": {root: &CA{Cert: root.Cert, Key: other.Key}, opts: ok, wantIs: ErrKeyMismatch},
		"a root that is not a CA":        {root: leafLike, opts: ok, wantIs: ErrNotCA},
		"a root limited to pathlen 0":    {root: pathlenZero, opts: ok, wantErr: "pathlen is 0"},
		"a start after the root expired": {root: root, opts: with(func(o *IntermediateOptions) { o.NotBefore = t0.Add(200 * time.Hour) }), wantErr: "the root CA expired at"},
		"an unsupported key spec":        {root: root, opts: with(func(o *IntermediateOptions) { o.Key = KeySpec{Type: RSA, RSABits: 1024} }), wantErr: "unsupported RSA key size"},
		"a zero NotBefore":               {root: root, opts: with(func(o *IntermediateOptions) { o.NotBefore = time.Time{} }), wantErr: "NotBefore is required"},
		"a negative TTL":                 {root: root, opts: with(func(o *IntermediateOptions) { o.TTL = -time.Hour }), wantErr: "TTL must be positive"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			ca, warnings, err := GenerateIntermediate(tc.root, tc.opts)
			if err == nil {
				t.Fatalf("got a CA (%v warnings), want an error", warnings)
			}
			if ca != nil {
				t.Fatal("got a CA with the error")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("error %v is not %v", err, tc.wantIs)
			}
			if tc.wantErr != "" {
				checkErr(t, err, tc.wantErr)
			}
			if tc.opts.Cluster != "" && !strings.Contains(err.Error(), `cluster "east"`) {
				t.Fatalf("error %q does not name the cluster", err)
			}
		})
	}
}
