package provider

import (
	"strings"
	"testing"
	"time"

	"github.com/ristio/pulumi-ristio/pkg/pki"
)

func TestAdoptionDrops(t *testing.T) {
	gen := func() *pki.CA {
		r, err := pki.GenerateRoot(pki.RootOptions{Key: pki.KeySpec{Type: pki.ECDSA}, NotBefore: time.Now(), TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	mesh, other := gen(), gen()
	both := trustBundle(string(mesh.CertPEM), []string{string(other.CertPEM)})
	cases := []struct {
		name       string
		live, next []byte
		want       []string // "" when nothing is said
	}{
		{"same root", mesh.CertPEM, mesh.CertPEM, nil},
		{"the mesh adds a root", mesh.CertPEM, both, nil},
		{"no root-cert.pem live", nil, mesh.CertPEM, nil},
		{"the live bundle trusts another root too", both, mesh.CertPEM,
			[]string{"cluster cluster2: adopt istio-system/cacerts", "will no longer trust", other.Cert.Subject.String(), pki.Fingerprint(other.Cert), "certificate.roots"}},
		{"a live bundle that cannot be read", []byte("junk"), mesh.CertPEM, []string{"cannot be read"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := adoptionDrops("cluster2", tc.live, tc.next)
			if len(tc.want) == 0 && got != "" {
				t.Fatalf("says %q, want nothing", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q does not say %q", got, w)
				}
			}
			if strings.Contains(got, pki.Fingerprint(mesh.Cert)) {
				t.Errorf("%q names the root that stays", got)
			}
		})
	}
}
