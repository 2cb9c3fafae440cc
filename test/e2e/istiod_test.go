package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/pkg/kube"
)

// assertMeshStatus checks the meshStatus output: every ordered pair synced.
func assertMeshStatus(t *testing.T, outputs auto.OutputMap, all []string) {
	t.Helper()
	status, _ := outputs["meshStatus"].Value.(map[string]any)
	for _, c := range all {
		peers, _ := status[c].(map[string]any)
		for _, peer := range peersOf(all, c) {
			if got := peers[peer]; got != "synced" {
				t.Errorf("meshStatus[%s][%s] = %v, want synced", c, peer, got)
			}
		}
		if len(peers) != len(all)-1 {
			t.Errorf("meshStatus[%s] = %v, want %d peers", c, peers, len(all)-1)
		}
	}
}

// logIstiod writes the end of every istiod's log in w to the test log, read
// the way `kubectl logs` does (the API server asks the kubelet emulator).
func logIstiod(t *testing.T, w *localcluster.World) {
	t.Helper()
	for _, c := range w.Clusters {
		client := istiodClient(t, c)
		pods, err := client.RunningPods(context.Background(), istioNS, "app=istiod")
		if err != nil {
			t.Logf("%s: no istiod log: %v", c.Name, err)
			continue
		}
		for _, pod := range pods {
			logs, err := client.PodLogTail(context.Background(), istioNS, pod.Name, "discovery", 40)
			t.Logf("%s: %s: last log lines (%v):\n%s", c.Name, pod.Name, err, logs)
		}
	}
}

// istiodClient is a pkg/kube client for one local cluster, as admin.
func istiodClient(t *testing.T, c *localcluster.Cluster) *kube.Client {
	t.Helper()
	client, err := kube.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// istiodPods lists the running istiod pods of a cluster.
func istiodPods(t *testing.T, c *localcluster.Cluster) []string {
	t.Helper()
	pods, err := istiodClient(t, c).RunningPods(context.Background(), istioNS, "app=istiod")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

// assertServedCertsChain proves, from outside the product, that every istiod
// serves on 15012 a certificate issued by its cluster's intermediate that
// chains to the root every cluster's root-cert.pem holds, and that those
// root-cert.pem files are all the same root.
func assertServedCertsChain(t *testing.T, w *localcluster.World, all []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	roots := map[string][]byte{}
	intermediates := map[string][]byte{}
	for _, name := range all {
		s, err := w.Cluster(name).Client.CoreV1().Secrets(istioNS).Get(ctx, "cacerts", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: cacerts: %v", name, err)
		}
		roots[name], intermediates[name] = s.Data["root-cert.pem"], s.Data["ca-cert.pem"]
	}
	for _, name := range all[1:] {
		if !bytes.Equal(roots[name], roots[all[0]]) {
			t.Errorf("%s's root-cert.pem differs from %s's", name, all[0])
		}
	}
	for _, name := range all {
		c := w.Cluster(name)
		client := istiodClient(t, c)
		pods := istiodPods(t, c)
		if len(pods) == 0 {
			t.Fatalf("%s: no running istiod pod", name)
		}
		intermediate := parseCert(t, intermediates[name])
		for _, pod := range pods {
			chain, err := client.PodTLSChain(ctx, istioNS, pod, 15012, "istiod.istio-system.svc")
			if err != nil {
				t.Fatalf("%s: %s: TLS on 15012 through port-forward: %v", name, pod, err)
			}
			leaf := chain[0]
			if err := leaf.CheckSignatureFrom(intermediate); err != nil {
				t.Errorf("%s: %s serves a certificate not signed by the cluster's intermediate: %v", name, pod, err)
			}
			if !slices.Contains(leaf.DNSNames, "istiod.istio-system.svc") {
				t.Errorf("%s: %s serves DNS names %v", name, pod, leaf.DNSNames)
			}
			for _, peer := range all {
				pool := x509.NewCertPool()
				pool.AppendCertsFromPEM(roots[peer])
				inter := x509.NewCertPool()
				inter.AddCert(intermediate)
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
					t.Errorf("%s: %s's 15012 certificate does not verify against %s's root-cert.pem: %v", name, pod, peer, err)
				}
			}
		}
	}
}

// clusterz asks one istiod pod which clusters it reads, as istioctl
// remote-clusters does.
func clusterz(t *testing.T, c *localcluster.Cluster, pod string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body, err := istiodClient(t, c).PodGet(ctx, istioNS, pod, 15014, "/debug/clusterz")
	if err != nil {
		t.Fatalf("%s: %s /debug/clusterz: %v", c.Name, pod, err)
	}
	out, err := parseClusterz(body)
	if err != nil {
		t.Fatalf("%s: /debug/clusterz: %v: %s", c.Name, err, body)
	}
	return out
}

// parseClusterz gives each cluster /debug/clusterz lists its sync status.
// While istiod syncs a client for an updated remote secret it lists the
// cluster twice, the new client beside the old one it goes on serving with
// until then: such a cluster is synced while either is.
func parseClusterz(body []byte) (map[string]string, error) {
	var list []struct{ ID, SecretName, SyncStatus string }
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range list {
		if out[e.ID] != "synced" {
			out[e.ID] = e.SyncStatus
		}
	}
	return out, nil
}

// waitClusterz polls every istiod of c until cond holds for its clusterz.
func waitClusterz(t *testing.T, c *localcluster.Cluster, what string, cond func(map[string]string) bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last map[string]string
	for time.Now().Before(deadline) {
		ok := true
		for _, pod := range istiodPods(t, c) {
			if last = clusterz(t, c, pod); !cond(last) {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: istiod never %s; clusterz: %v", c.Name, what, last)
}

func parseCert(t *testing.T, pemData []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(pemData)
	if block == nil {
		t.Fatalf("no PEM in %q", headLines(string(pemData), 1))
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// containsAll reports whether s holds every part.
func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
