package meshcheck

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ristio/pulumi-ristio/pkg/pki"
)

var now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func root(t *testing.T) *pki.CA {
	t.Helper()
	r, err := pki.GenerateRoot(pki.RootOptions{Key: pki.KeySpec{Type: pki.ECDSA}, NotBefore: now, TTL: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func intermediate(t *testing.T, r *pki.CA, cluster string) *pki.CA {
	t.Helper()
	ca, _, err := pki.GenerateIntermediate(r, pki.IntermediateOptions{Cluster: cluster, Key: pki.KeySpec{Type: pki.ECDSA}, NotBefore: now, TTL: 12 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// servingCert is what istiod serves on 15012: a leaf from its intermediate.
func servingCert(t *testing.T, ca *pki.CA) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "istiod"},
		DNSNames:  []string{"istiod.istio-system.svc"},
		NotBefore: now, NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

const (
	syncedClusterz  = `[{"id":"cluster1","secretName":"","syncStatus":"synced"},{"id":"cluster2","secretName":"istio-system/istio-remote-secret-cluster2","syncStatus":"synced"}]`
	gatewayNetworkz = `[{"Network":"network-cluster2","Cluster":"cluster2","Addr":"127.0.1.2","Port":15443,"HBONEPort":0,"ServiceAccount":{"Namespace":"","Name":""}}]`
	// Shards as istiod 1.30 writes them: istiod's own service from both
	// clusters, the sample's from cluster2 only.
	endpointShardz = `{"istiod.istio-system.svc.cluster.local":{"istio-system":{"Shards":{"Kubernetes/cluster1":[{"Addresses":["10.244.0.1"]}],"Kubernetes/cluster2":[{"Addresses":["10.244.0.9"]}]},"ServiceAccounts":{}}},` +
		`"helloworld.sample.svc.cluster.local":{"sample":{"Shards":{"Kubernetes/cluster2":[{"Addresses":["10.244.0.7"]}]},"ServiceAccounts":{}}}}`
)

var (
	istiodService = Service{Namespace: "istio-system", Name: "istiod"}
	sampleService = Service{Namespace: "sample", Name: "helloworld"}
)

// fixture is a healthy cluster1 with one peer, cluster2, sharing the root.
func fixture(t *testing.T) (Expect, Istiod) {
	r := root(t)
	inter := intermediate(t, r, "cluster1")
	exp := Expect{
		Cluster: "cluster1", IntermediatePEM: inter.CertPEM, OwnRootCertPEM: r.CertPEM, Now: now.Add(time.Minute),
		Peers: []Peer{{Name: "cluster2", Network: "network-cluster2", GatewayAddress: "127.0.1.2", RootCertPEM: r.CertPEM, Services: []Service{sampleService, istiodService}}},
	}
	d := Istiod{
		Pod: "istiod-abc", Clusterz: []byte(syncedClusterz), Networkz: []byte(gatewayNetworkz), EndpointShardz: []byte(endpointShardz),
		Version:      func() string { return "1.30.3-4c1f5b2e-Clean" },
		ServingChain: []*x509.Certificate{servingCert(t, inter)},
		Says: func(string) string {
			return "error adding remote config istio-system/istio-remote-secret-cluster2: bad kubeconfig"
		},
	}
	return exp, d
}

func TestEvaluate(t *testing.T) {
	otherRoot := root(t)
	tests := []struct {
		name   string
		break_ func(*Expect, *Istiod)
		want   []string // substrings of cluster2's status; nil means synced
	}{
		{name: "healthy", break_: func(*Expect, *Istiod) {}},
		{name: "peer not loaded", break_: func(_ *Expect, d *Istiod) {
			d.Clusterz = []byte(`[{"id":"cluster1","syncStatus":"synced"}]`)
		}, want: []string{"istiod-abc has not loaded cluster2 from istio-remote-secret-cluster2", "istiod says: error adding remote config"}},
		{name: "peer still syncing", break_: func(_ *Expect, d *Istiod) {
			d.Clusterz = []byte(strings.Replace(syncedClusterz, `"synced"}]`, `"timeout"}]`, 1))
		}, want: []string{"cannot sync cluster2 from istio-remote-secret-cluster2 (status timeout", "remoteApiServer"}},
		{name: "peer from another secret", break_: func(_ *Expect, d *Istiod) {
			d.Clusterz = []byte(strings.Replace(syncedClusterz, "istio-remote-secret-cluster2", "handmade", 1))
		}, want: []string{"syncs cluster2 from istio-system/handmade"}},
		{name: "gateway at another address", break_: func(e *Expect, _ *Istiod) {
			e.Peers[0].GatewayAddress = "127.0.1.99"
		}, want: []string{"does not know cluster2's gateway at 127.0.1.99:15443 on network network-cluster2 (it knows 127.0.1.2:15443)"}},
		{name: "gateway hostname resolved", break_: func(e *Expect, _ *Istiod) {
			e.Peers[0].GatewayAddress, e.Peers[0].GatewayIPs = "gw.example", []string{"127.0.1.2"}
		}},
		{name: "no gateway known", break_: func(_ *Expect, d *Istiod) { d.Networkz = []byte(`[]`) },
			want: []string{"(it knows none)"}},
		{name: "peer trusts another root", break_: func(e *Expect, _ *Istiod) {
			e.Peers[0].RootCertPEM = otherRoot.CertPEM
		}, want: []string{"a certificate that cluster2's root-cert.pem does not trust"}},
		{name: "istiod not on the plugged-in CA", break_: func(_ *Expect, d *Istiod) {
			d.ServingChain = []*x509.Certificate{servingCert(t, intermediate(t, otherRoot, "cluster1"))}
		}, want: []string{"does not chain through this cluster's current intermediate"}},
		{name: "roots distributed as loaded, in another order", break_: func(e *Expect, _ *Istiod) {
			e.OwnRootCertPEM = append(append([]byte{}, e.OwnRootCertPEM...), otherRoot.CertPEM...)
			e.DistributedRootsPEM = append(append([]byte{}, otherRoot.CertPEM...), e.OwnRootCertPEM...)
		}},
		{name: "new root-cert.pem not loaded yet", break_: func(e *Expect, _ *Istiod) {
			e.DistributedRootsPEM = e.OwnRootCertPEM
			e.OwnRootCertPEM = append(append([]byte{}, e.OwnRootCertPEM...), otherRoot.CertPEM...)
		}, want: []string{"istiod has not loaded cacerts root-cert.pem: it distributes 1 root(s) in istio-system/istio-ca-root-cert, root-cert.pem holds 2", "ISTIO_MULTIROOT_MESH"}},
		{name: "clusterz never answers", break_: func(_ *Expect, d *Istiod) {
			d.Clusterz, d.ClusterzErr = nil, fmt.Errorf("get /debug/clusterz: %w", context.DeadlineExceeded)
		}, want: []string{"did not answer /debug/clusterz", "remote-cluster store may be deadlocked", "istio/istio#60316", "restarting istiod"}},
		{name: "pod unreachable", break_: func(_ *Expect, d *Istiod) { d.Err = errors.New("port-forward refused") },
			want: []string{"istiod-abc cannot be asked: port-forward refused"}},
		{name: "synced but the peer's endpoints are gone", break_: func(_ *Expect, d *Istiod) {
			d.EndpointShardz = []byte(`{"istiod.istio-system.svc.cluster.local":{"istio-system":{"Shards":{"Kubernetes/cluster1":[{}]}}},"helloworld.sample.svc.cluster.local":{"sample":{"Shards":{}}}}`)
		}, want: []string{"istiod-abc lists cluster2 as synced but holds none of its endpoints of helloworld.sample, istiod.istio-system (Istio 1.30.3 loses a peer's endpoints when its remote secret is rewritten, istio/istio#61043", "restarting istiod restores them"}},
		{name: "one service of the peer missing", break_: func(_ *Expect, d *Istiod) {
			d.EndpointShardz = []byte(strings.Replace(endpointShardz, `"Kubernetes/cluster2":[{"Addresses":["10.244.0.7"]}]`, `"Kubernetes/cluster2":[]`, 1))
		}, want: []string{"holds none of its endpoints of helloworld.sample ("}},
		{name: "endpoints missing on a release with the fixes", break_: func(_ *Expect, d *Istiod) {
			d.EndpointShardz = []byte(`{}`)
			d.Version = func() string { return "1.30.4-abc-Clean" }
		}, want: []string{"holds none of its endpoints", "discoverySelectors"}},
		{name: "endpoints missing on a build without a release", break_: func(_ *Expect, d *Istiod) {
			d.EndpointShardz = []byte(`{}`)
			d.Version = func() string { return "unknown-unknown-unknown" }
		}, want: []string{`reports no Istio release ("unknown-unknown-unknown")`, "istio/istio#61043"}},
		{name: "a peer serving nothing is not asked for endpoints", break_: func(e *Expect, d *Istiod) {
			e.Peers[0].Services = nil
			d.EndpointShardz, d.EndpointShardzErr = nil, errors.New("refused")
		}},
		{name: "endpointShardz unanswered", break_: func(_ *Expect, d *Istiod) {
			d.EndpointShardz, d.EndpointShardzErr = nil, errors.New("refused")
		}, want: []string{"did not answer /debug/endpointShardz: refused"}},
		{name: "not synced: discovery is not judged on top", break_: func(_ *Expect, d *Istiod) {
			d.Clusterz = []byte(strings.Replace(syncedClusterz, `"synced"}]`, `"syncing"}]`, 1))
			d.EndpointShardz = []byte(`{}`)
		}, want: []string{"status syncing"}},
		{name: "peer unreadable", break_: func(e *Expect, _ *Istiod) {
			e.Peers[0].Problem, e.Peers[0].RootCertPEM = "cannot reach cluster2 to read the roots it trusts: refused", nil
		}, want: []string{"cannot reach cluster2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, d := fixture(t)
			tt.break_(&exp, &d)
			rep := Evaluate(exp, []Istiod{d})
			got := rep.Peers["cluster2"]
			if tt.want == nil {
				if got != Synced || !rep.Healthy() || len(rep.Problems("cluster1")) != 0 {
					t.Fatalf("status %q, want synced", got)
				}
				return
			}
			if got == Synced || rep.Healthy() {
				t.Fatalf("status synced, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("status %q lacks %q", got, w)
				}
			}
			if p := rep.Problems("cluster1"); len(p) != 1 || !strings.HasPrefix(p[0], "cluster1: istiod-abc ") && !strings.HasPrefix(p[0], "cluster1: cannot") && !strings.HasPrefix(p[0], "cluster1: istiod has not loaded") {
				t.Errorf("problems %q: want one line naming cluster1 and its istiod", p)
			}
		})
	}
}

func TestEvaluateEveryRevision(t *testing.T) {
	exp, good := fixture(t)
	stale := good
	stale.Pod = "istiod-canary-xyz"
	stale.Clusterz = []byte(`[]`)
	rep := Evaluate(exp, []Istiod{good, stale})
	if got := rep.Peers["cluster2"]; !strings.HasPrefix(got, "istiod-canary-xyz has not loaded cluster2") {
		t.Fatalf("status %q: a revision that lags must fail the check, named", got)
	}
	if rep := Evaluate(exp, nil); !strings.Contains(rep.Peers["cluster2"], "no running istiod pod") {
		t.Fatalf("without istiod: %q", rep.Peers["cluster2"])
	}
}

// A mesh of one cluster has no peer, but its istiod must still run and
// serve a certificate from the plugged-in CA.
func TestEvaluateAlone(t *testing.T) {
	exp, d := fixture(t)
	exp.Peers = nil
	if rep := Evaluate(exp, []Istiod{d}); !rep.Healthy() || len(rep.Peers) != 0 {
		t.Fatalf("a healthy lone cluster: %v", rep.Peers)
	}
	rep := Evaluate(exp, nil)
	if rep.Healthy() || !strings.Contains(rep.Peers["cluster1"], "no running istiod pod") {
		t.Fatalf("a lone cluster without istiod: %v", rep.Peers)
	}
	d.ServingChain = []*x509.Certificate{servingCert(t, intermediate(t, root(t), "cluster1"))}
	if rep := Evaluate(exp, []Istiod{d}); rep.Healthy() || !strings.Contains(rep.Peers["cluster1"], "does not chain through this cluster's current intermediate") {
		t.Fatalf("a lone istiod off the plugged-in CA: %v", rep.Peers)
	}
}

// TestStoreDeadlockHintOnlyOnTimeout: a refused /debug/clusterz is not
// blamed on istiod's store, only one that never answers.
func TestStoreDeadlockHintOnlyOnTimeout(t *testing.T) {
	exp, d := fixture(t)
	d.Clusterz, d.ClusterzErr = nil, errors.New("connection refused")
	got := Evaluate(exp, []Istiod{d}).Peers["cluster2"]
	if !strings.Contains(got, "did not answer /debug/clusterz: connection refused") || strings.Contains(got, "deadlocked") {
		t.Errorf("status %q: want the refusal, without the deadlock hint", got)
	}
}

// TestDiscoveryJudgedOnlyWhenSynced: while a peer syncs, its endpoints are
// still arriving, so only the sync is reported.
func TestDiscoveryJudgedOnlyWhenSynced(t *testing.T) {
	exp, d := fixture(t)
	d.Clusterz = []byte(strings.Replace(syncedClusterz, `"synced"}]`, `"syncing"}]`, 1))
	d.EndpointShardz = []byte(`{}`)
	if got := Evaluate(exp, []Istiod{d}).Peers["cluster2"]; strings.Contains(got, "endpoints") {
		t.Errorf("status %q: want the sync only", got)
	}
}

// TestEvaluateWithoutTheIntermediate: with no intermediate given (checkMesh
// never reads cacerts), the served chain is judged through the intermediate
// istiod presents with it.
func TestEvaluateWithoutTheIntermediate(t *testing.T) {
	exp, d := fixture(t)
	inter, err := x509.ParseCertificate(pemBlock(t, exp.IntermediatePEM))
	if err != nil {
		t.Fatal(err)
	}
	exp.IntermediatePEM = nil
	d.ServingChain = append(d.ServingChain, inter)
	if rep := Evaluate(exp, []Istiod{d}); !rep.Healthy() {
		t.Fatalf("a chain presented with its intermediate: %v", rep.Peers)
	}
	d.ServingChain = d.ServingChain[:1]
	if rep := Evaluate(exp, []Istiod{d}); rep.Healthy() || !strings.Contains(rep.Peers["cluster2"], "does not chain") {
		t.Fatalf("a leaf presented alone: %v", rep.Peers)
	}
}

func pemBlock(t *testing.T, data []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}
