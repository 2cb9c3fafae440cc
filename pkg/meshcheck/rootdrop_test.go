package meshcheck

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ristio/pulumi-ristio/pkg/pki"
)

func TestDropLag(t *testing.T) {
	oldRoot, newRoot := root(t), root(t)
	both := append(append([]byte{}, newRoot.CertPEM...), oldRoot.CertPEM...)
	oldInter, newInter := intermediate(t, oldRoot, "cluster3"), intermediate(t, newRoot, "cluster3")
	cacerts := func(inter *pki.CA, issuer *pki.CA, bundle []byte) map[string][]byte {
		return map[string][]byte{
			pki.CACertFile: inter.CertPEM, pki.RootCertFile: bundle,
			pki.CertChainFile: append(append([]byte{}, inter.CertPEM...), issuer.CertPEM...),
		}
	}
	serving := func(ca *pki.CA) []Serving {
		return []Serving{{Pod: "istiod-1", Chain: []*x509.Certificate{servingCert(t, ca), ca.Cert}}}
	}
	ready := LiveTrust{Cluster: "cluster1", CACerts: cacerts(newInter, newRoot, both), Istiods: serving(newInter)}
	cases := []struct {
		name    string
		cluster LiveTrust
		want    []string // in the lagging cluster's reason; none: ready
	}{
		{"step 2 done: signs with the new root, istiod reloaded", ready, nil},
		{"nothing installed yet", LiveTrust{Cluster: "cluster3"}, nil},
		{"cacerts still the old intermediate", LiveTrust{Cluster: "cluster3", CACerts: cacerts(oldInter, oldRoot, both), Istiods: serving(oldInter)},
			[]string{"cacerts intermediate", "not issued by a root that stays", "istiod pod istiod-1 still serves"}},
		{"cacerts rewritten, istiod not reloaded", LiveTrust{Cluster: "cluster3", CACerts: cacerts(newInter, newRoot, both), Istiods: serving(oldInter)},
			[]string{"istiod pod istiod-1 still serves", "has not loaded the new intermediate"}},
		{"never trusted the new root", LiveTrust{Cluster: "cluster3", CACerts: cacerts(oldInter, oldRoot, oldRoot.CertPEM)},
			[]string{"does not trust", pki.Fingerprint(newRoot.Cert)}},
		{"istiod cannot be asked", LiveTrust{Cluster: "cluster3", CACerts: cacerts(newInter, newRoot, both), Istiods: []Serving{{Pod: "istiod-1", Err: errors.New("connection refused")}}},
			[]string{"istiod pod istiod-1 could not be asked", "connection refused"}},
		{"unreachable", LiveTrust{Cluster: "cluster3", Problem: "dial tcp 127.0.0.1:1: connection refused"},
			[]string{"cannot be read", "connection refused"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lags := DropLag(newRoot.CertPEM, []LiveTrust{ready, tc.cluster}, now.Add(time.Minute))
			if len(tc.want) == 0 {
				if len(lags) != 0 {
					t.Fatalf("lags %v, want none", lags)
				}
				return
			}
			if len(lags) != 1 || lags[0].Cluster != "cluster3" {
				t.Fatalf("lags %v, want cluster3 alone", lags)
			}
			for _, w := range tc.want {
				if !strings.Contains(lags[0].Reason, w) {
					t.Errorf("reason %q lacks %q", lags[0].Reason, w)
				}
			}
		})
	}
}
