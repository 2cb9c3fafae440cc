package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
)

const istioNS = "istio-system"

var gatewayGVR = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "gateways"}

// assertInstalled checks every object ristio makes in one cluster, known in
// the mesh as name.
func assertInstalled(t *testing.T, c *localcluster.Cluster, name, network string, peers []string) {
	t.Helper()
	ctx := context.Background()
	ns, err := c.Client.CoreV1().Namespaces().Get(ctx, istioNS, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: namespace %s: %v", c.Name, istioNS, err)
	}
	if got := ns.Labels["topology.istio.io/network"]; got != network {
		t.Errorf("%s: namespace network label = %q, want %q", c.Name, got, network)
	}
	cacerts, err := c.Client.CoreV1().Secrets(istioNS).Get(ctx, "cacerts", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: cacerts: %v", c.Name, err)
	}
	verifyCACerts(t, name, cacerts)
	for _, release := range []string{"istio-base", "istio-eastwestgateway"} {
		if got := releaseStatus(t, c, release); got != "deployed" {
			t.Errorf("%s: release %s status = %q, want deployed", c.Name, release, got)
		}
	}
	// istiod, or istiod-<revision>.
	istiods, err := c.Client.CoreV1().Secrets(istioNS).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,status=deployed"})
	if err != nil {
		t.Fatalf("%s: listing releases: %v", c.Name, err)
	}
	if !slices.ContainsFunc(istiods.Items, func(s corev1.Secret) bool {
		return s.Labels["name"] == "istiod" || strings.HasPrefix(s.Labels["name"], "istiod-")
	}) {
		t.Errorf("%s: no istiod release is deployed", c.Name)
	}
	gw, err := dynamicClient(t, c).Resource(gatewayGVR).Namespace(istioNS).Get(ctx, "cross-network-gateway", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: Gateway cross-network-gateway: %v", c.Name, err)
	}
	servers, _ := gw.Object["spec"].(map[string]any)["servers"].([]any)
	server := servers[0].(map[string]any)
	if mode := server["tls"].(map[string]any)["mode"]; mode != "AUTO_PASSTHROUGH" {
		t.Errorf("%s: gateway tls mode = %v", c.Name, mode)
	}
	if port := server["port"].(map[string]any)["number"]; port != int64(15443) {
		t.Errorf("%s: gateway port = %v (%T)", c.Name, port, port)
	}
	svc, err := c.Client.CoreV1().Services(istioNS).Get(ctx, "istio-eastwestgateway", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: east-west Service: %v", c.Name, err)
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("%s: east-west Service type = %s", c.Name, svc.Spec.Type)
	}
	var ports []int
	for _, p := range svc.Spec.Ports {
		ports = append(ports, int(p.Port))
	}
	sort.Ints(ports)
	if want := []int{15012, 15017, 15021, 15443}; !slices.Equal(ports, want) {
		t.Errorf("%s: east-west ports = %v, want %v", c.Name, ports, want)
	}
	if got := remoteSecretNames(t, c); !slices.Equal(got, peers) {
		t.Errorf("%s: remote secrets for %v, want %v", c.Name, got, peers)
	}
}

// remoteSecretNames lists the clusters that have a remote secret in c, sorted.
func remoteSecretNames(t *testing.T, c *localcluster.Cluster) []string {
	t.Helper()
	list, err := c.Client.CoreV1().Secrets(istioNS).List(context.Background(), metav1.ListOptions{LabelSelector: "istio/multiCluster=true"})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		t.Fatalf("%s: listing remote secrets: %v", c.Name, err)
	}
	names := []string{}
	for _, s := range list.Items {
		peer := s.Annotations["networking.istio.io/cluster"]
		if s.Name != "istio-remote-secret-"+peer {
			t.Errorf("%s: remote secret %s annotated for %q", c.Name, s.Name, peer)
		}
		names = append(names, peer)
	}
	sort.Strings(names)
	return names
}

// assertRemoteSecretWorks proves the kubeconfig for `from` (named `name` in
// the mesh) that `into` holds authenticates to `from` and is read-only.
func assertRemoteSecretWorks(t *testing.T, into, from *localcluster.Cluster, name string) {
	t.Helper()
	ctx := context.Background()
	s, err := into.Client.CoreV1().Secrets(istioNS).Get(ctx, "istio-remote-secret-"+name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: remote secret for %s: %v", into.Name, from.Name, err)
	}
	raw := s.Data[name]
	cfg, err := clientcmd.Load(raw)
	if err != nil {
		t.Fatalf("parsing remote kubeconfig: %v", err)
	}
	if cfg.CurrentContext != name || cfg.Contexts[name] == nil || cfg.Clusters[name] == nil || cfg.AuthInfos[name] == nil {
		t.Fatalf("remote kubeconfig names: context %q, want cluster/context/user all %q", cfg.CurrentContext, name)
	}
	if cfg.AuthInfos[name].Token == "" {
		t.Fatalf("remote kubeconfig has no bearer token")
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(raw)
	if err != nil {
		t.Fatalf("remote kubeconfig: %v", err)
	}
	client := kubernetes.NewForConfigOrDie(rc)
	if _, err := client.CoreV1().Services(istioNS).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("%s's reader token cannot list services in %s: %v", from.Name, from.Name, err)
	}
	_, err = client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "should-not-exist"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("%s's reader token creating a secret: got %v, want Forbidden", from.Name, err)
	}
}

// verifyCACerts checks the four files and verifies the chain with openssl.
func verifyCACerts(t *testing.T, cluster string, s *corev1.Secret) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"} {
		if len(s.Data[k]) == 0 {
			t.Fatalf("%s: cacerts lacks %s", cluster, k)
		}
		if err := os.WriteFile(filepath.Join(dir, k), s.Data[k], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("openssl", "verify", "-CAfile", filepath.Join(dir, "root-cert.pem"),
		"-untrusted", filepath.Join(dir, "ca-cert.pem"), filepath.Join(dir, "ca-cert.pem")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Errorf("%s: openssl verify: %v\n%s", cluster, err, out)
	}
	subject, err := exec.Command("openssl", "x509", "-noout", "-subject", "-in", filepath.Join(dir, "ca-cert.pem")).CombinedOutput()
	if err != nil || !strings.Contains(string(subject), "L = "+cluster) {
		t.Errorf("%s: intermediate subject %s (%v), want L = %s", cluster, subject, err, cluster)
	}
}

// releaseStatus reads Helm's own record of a release in istio-system.
func releaseStatus(t *testing.T, c *localcluster.Cluster, release string) string {
	t.Helper()
	list, err := c.Client.CoreV1().Secrets(istioNS).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=" + release})
	if err != nil {
		t.Fatalf("%s: listing releases: %v", c.Name, err)
	}
	latest, status := -1, ""
	for _, s := range list.Items {
		v := 0
		for _, ch := range s.Labels["version"] {
			v = v*10 + int(ch-'0')
		}
		if v > latest {
			latest, status = v, s.Labels["status"]
		}
	}
	return status
}

func dynamicClient(t *testing.T, c *localcluster.Cluster) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
