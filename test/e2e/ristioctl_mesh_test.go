package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
)

// A mesh made the way ristioctl makes one, for the migration test: openssl
// certificates in cacerts, `istioctl install` of the control plane and of the
// east-west gateway (the IstioOperators of Istio's multi-primary,
// multi-network guide), cross-network-gateway applied as a manifest, and
// `istioctl create-remote-secret` for every ordered pair.

// ristioctlVersion is the Istio version of the mesh: its images' tag.
const ristioctlVersion = "1.30.5"

// ristioctlMesh builds the mesh in every cluster of w under a new openssl
// root, written to certs/root-cert.pem and root-key.pem.
func ristioctlMesh(t *testing.T, w *localcluster.World, certs string) {
	t.Helper()
	opensslRoot(t, certs)
	for _, c := range w.Clusters {
		installLikeRistioctl(t, w, c, certs)
	}
	for _, src := range w.Clusters {
		for _, dst := range w.Clusters {
			if src != dst {
				istioctlRemoteSecret(t, w, src, dst)
			}
		}
	}
}

func openssl(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// opensslRoot makes the root as Istio's certificate Makefile does (ECDSA
// here, as step made ristioctl's), valid for 20 years.
func opensslRoot(t *testing.T, certs string) {
	t.Helper()
	if err := os.MkdirAll(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	openssl(t, certs, "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		"-keyout", "root-key.pem", "-out", "root-cert.pem", "-days", "7300", "-subj", "/O=Istio/CN=Root CA",
		"-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")
}

// opensslIntermediate makes cluster's intermediate under the root in certs,
// and returns cacerts' four files.
func opensslIntermediate(t *testing.T, certs, cluster string) map[string][]byte {
	t.Helper()
	dir := filepath.Join(certs, cluster)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ext := "[ext]\nbasicConstraints = critical, CA:true, pathlen:0\nkeyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyCertSign\nsubjectAltName = DNS:istiod.istio-system.svc\n"
	if err := os.WriteFile(filepath.Join(dir, "ext.cnf"), []byte(ext), 0o600); err != nil {
		t.Fatal(err)
	}
	openssl(t, dir, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		"-keyout", "ca-key.pem", "-out", "ca.csr", "-subj", "/O=Istio/CN=Intermediate CA/L="+cluster)
	openssl(t, dir, "x509", "-req", "-in", "ca.csr", "-CA", "../root-cert.pem", "-CAkey", "../root-key.pem", "-CAcreateserial",
		"-out", "ca-cert.pem", "-days", "730", "-extfile", "ext.cnf", "-extensions", "ext")
	files := map[string][]byte{}
	for _, f := range []string{"ca-cert.pem", "ca-key.pem"} {
		files[f] = readFile(t, filepath.Join(dir, f))
	}
	files["root-cert.pem"] = readFile(t, filepath.Join(certs, "root-cert.pem"))
	files["cert-chain.pem"] = append(bytes.Clone(files["ca-cert.pem"]), files["root-cert.pem"]...)
	return files
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// installLikeRistioctl makes istio-system with its network label, cacerts,
// the control plane and the east-west gateway with istioctl, and
// cross-network-gateway, in cluster c (network network-<name>, ristio's
// default, so the converted program keeps it).
func installLikeRistioctl(t *testing.T, w *localcluster.World, c *localcluster.Cluster, certs string) {
	t.Helper()
	ctx := context.Background()
	network := "network-" + c.Name
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: istioNS, Labels: map[string]string{"topology.istio.io/network": network},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().Secrets(istioNS).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cacerts"}, Data: opensslIntermediate(t, certs, c.Name),
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The control plane as ristioctl's controlplane.yaml has it (the default
	// profile, its mesh config with its typographic quotes), with the images
	// and the one variable ristio sets (multi-root trust) spelled out: the
	// values are then those of the converted program, and adopting istiod
	// restarts nothing.
	controlPlane := fmt.Sprintf(`apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  hub: docker.io/istio
  tag: %s
  meshConfig:
    enablePrometheusMerge: false
    defaultConfig:
      proxyMetadata:
        ISTIO_META_DNS_CAPTURE: “true”
        ISTIO_META_DNS_AUTO_ALLOCATE: “true”
  values:
    pilot:
      env:
        ISTIO_MULTIROOT_MESH: "true"
    global:
      meshID: mesh1
      multiCluster:
        clusterName: %s
      network: %s
`, ristioctlVersion, c.Name, network)
	// ristioctl's eastwest-gateway.yaml, which is the guide's
	// samples/multicluster/gen-eastwest-gateway.sh --network <network>.
	eastWest := fmt.Sprintf(`apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata:
  name: eastwest
spec:
  profile: empty
  hub: docker.io/istio
  tag: %[1]s
  components:
    ingressGateways:
      - name: istio-eastwestgateway
        label:
          istio: eastwestgateway
          app: istio-eastwestgateway
          topology.istio.io/network: %[2]s
        enabled: true
        k8s:
          env:
            - name: ISTIO_META_REQUESTED_NETWORK_VIEW
              value: %[2]s
          service:
            ports:
              - {name: status-port, port: 15021, targetPort: 15021}
              - {name: tls, port: 15443, targetPort: 15443}
              - {name: tls-istiod, port: 15012, targetPort: 15012}
              - {name: tls-webhook, port: 15017, targetPort: 15017}
  values:
    gateways:
      istio-ingressgateway:
        injectionTemplate: gateway
    global:
      network: %[2]s
`, ristioctlVersion, network)
	// In the guide's order: an install prunes what the IstioOperators
	// installed before it do not hold, unless those name themselves.
	for i, iop := range []string{controlPlane, eastWest} {
		file := filepath.Join(t.TempDir(), fmt.Sprintf("iop%d.yaml", i))
		if err := os.WriteFile(file, []byte(iop), 0o600); err != nil {
			t.Fatal(err)
		}
		istioctl(t, w, c, "install", "-y", "-f", file)
	}
	// samples/multicluster/expose-services.yaml.
	gw := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": "cross-network-gateway", "namespace": istioNS},
		"spec": map[string]any{
			"selector": map[string]any{"istio": "eastwestgateway"},
			"servers": []any{map[string]any{
				"port": map[string]any{"number": int64(15443), "name": "tls", "protocol": "TLS"},
				"tls":  map[string]any{"mode": "AUTO_PASSTHROUGH"}, "hosts": []any{"*.local"},
			}},
		},
	}}
	if _, err := dynamicClient(t, c).Resource(gatewayGVR).Namespace(istioNS).Create(ctx, gw, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// istioctl runs the istioctl `make tools` built against cluster c.
func istioctl(t *testing.T, w *localcluster.World, c *localcluster.Cluster, args ...string) []byte {
	t.Helper()
	args = append(args, "--kubeconfig", w.Kubeconfig, "--context", c.Name)
	cmd := exec.Command(filepath.Join(pulumitest.ToolsDir(), "bin", "istioctl"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: istioctl %s: %v\n%s%s", c.Name, args[0], err, out, stderr.Bytes())
	}
	return out
}

// istioctlRemoteSecret lets dst's istiod watch src, as
// `istioctl create-remote-secret --name <src> [extra...] | kubectl apply -f -`
// does: a secret already there is replaced.
func istioctlRemoteSecret(t *testing.T, w *localcluster.World, src, dst *localcluster.Cluster, extra ...string) {
	t.Helper()
	out := istioctl(t, w, src, append([]string{"create-remote-secret", "--name", src.Name}, extra...)...)
	var created int
	for _, doc := range bytes.Split(out, []byte("\n---")) {
		var s corev1.Secret
		if err := yaml.Unmarshal(doc, &s); err != nil {
			t.Fatalf("istioctl create-remote-secret printed %q: %v", doc, err)
		}
		if s.Kind != "Secret" {
			continue
		}
		s.Namespace = istioNS
		_, err := dst.Client.CoreV1().Secrets(istioNS).Create(context.Background(), &s, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			_, err = dst.Client.CoreV1().Secrets(istioNS).Update(context.Background(), &s, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
		created++
	}
	if created != 1 {
		t.Fatalf("istioctl create-remote-secret --name %s gave %d secrets:\n%s", src.Name, created, out)
	}
}

// ristioctlMeshFile is the mesh.yaml ristioctl was run with.
func ristioctlMeshFile(w *localcluster.World, certs string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: ristioctl.k8smgmt.io/v3\nkind: Certificate\nmetadata:\n  name: ristioctl-certs\nspec:\n  validityHours: 17520\n  password: false\n  sanSuffix: istio.io\n  meshID: mesh1\n  folderPath: %s\n", certs)
	for _, c := range w.Clusters {
		fmt.Fprintf(&b, "---\napiVersion: ristioctl.k8smgmt.io/v3\nkind: Cluster\nmetadata:\n  name: %s\nspec:\n  kubeconfigFile: %s\n  context: %s\n  meshID: mesh1\n  version: %q\n  installHelloWorld: false\n",
			c.Name, w.Kubeconfig, c.Name, ristioctlVersion)
	}
	return b.String()
}

// localize points a converted YAML program at the test charts (this machine
// cannot reach Istio's chart repository) and exports meshStatus too.
func localize(t *testing.T, project, charts string) {
	t.Helper()
	file := filepath.Join(project, "Main.yaml")
	var doc map[string]any
	if err := yaml.Unmarshal(readFile(t, file), &doc); err != nil {
		t.Fatal(err)
	}
	resources, _ := doc["resources"].(map[string]any)
	mesh, _ := resources["mesh"].(map[string]any)
	props, _ := mesh["properties"].(map[string]any)
	if props == nil {
		t.Fatalf("the converted program has no mesh resource:\n%s", readFile(t, file))
	}
	props["chartDirectory"] = charts
	outputs, _ := doc["outputs"].(map[string]any)
	if outputs == nil {
		outputs = map[string]any{}
		doc["outputs"] = outputs
	}
	outputs["meshStatus"] = "${mesh.meshStatus}"
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
