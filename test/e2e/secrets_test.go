package e2e

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// TestNoSecretInPlainState: kubeconfig contents given as input, the keys
// ristio generates and the reader tokens it mints never appear in the
// stack's state or in the CLI's output in plain text.
func TestNoSecretInPlainState(t *testing.T) {
	t.Parallel()
	w := world(t, 2)
	kubeconfig, err := os.ReadFile(w.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	charts := testcharts.Directory(t)
	program := func(ctx *pulumi.Context) error {
		clusters := pulumi.Array{}
		for _, c := range w.Clusters {
			clusters = append(clusters, pulumi.Map{
				"name":       pulumi.String(c.Name),
				"kubeconfig": pulumi.ToSecret(pulumi.String(string(kubeconfig))),
				"context":    pulumi.String(c.Name),
			})
		}
		var mesh meshResource
		if err := ctx.RegisterRemoteComponentResource("ristio:index:MultiClusterMesh", "mesh", pulumi.Map{
			"meshId":         pulumi.String("usmesh"),
			"clusters":       clusters,
			"chartDirectory": pulumi.String(charts),
			"certificate":    pulumi.Map{"keyType": pulumi.String("ECDSA"), "password": pulumi.ToSecret(pulumi.String("hunter2"))},
		}, &mesh); err != nil {
			return err
		}
		ctx.Export("rootKeyPem", mesh.RootKeyPEM)
		return nil
	}
	stack := pulumitest.InlineStack(t, "ristio-secrets", program)
	ctx := context.Background()
	t.Cleanup(func() { _, _ = stack.Destroy(ctx) })

	var out strings.Builder
	res := pulumitest.Up(t, stack)
	out.WriteString(res.StdOut + res.StdErr)
	// Everything the file backend wrote: the stack, its history and backups.
	backend := strings.TrimPrefix(stack.Workspace().GetEnvVars()["PULUMI_BACKEND_URL"], "file://")
	var state strings.Builder
	err = filepath.WalkDir(backend, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		state.Write(data)
		return err
	})
	if err != nil || state.Len() == 0 {
		t.Fatalf("reading the backend at %s: %v", backend, err)
	}
	plain := state.String() + out.String()

	cacerts, err := w.Clusters[0].Client.CoreV1().Secrets(istioNS).Get(ctx, "cacerts", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	remote, err := w.Clusters[0].Client.CoreV1().Secrets(istioNS).Get(ctx, "istio-remote-secret-cluster2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	remoteConfig := string(remote.Data["cluster2"])
	token := remoteConfig[strings.Index(remoteConfig, "token: ")+len("token: "):]
	token = strings.TrimSpace(strings.SplitN(token, "\n", 2)[0])
	for what, secret := range map[string]string{
		"the intermediate key":           firstLine(string(cacerts.Data["ca-key.pem"]), 1),
		"the kubeconfig's client key":    clientKeyLine(string(kubeconfig)),
		"the reader token":               token,
		"the root key password":          "hunter2",
		"any unencrypted private key":    "BEGIN PRIVATE KEY",
		"any unencrypted EC private key": "BEGIN EC PRIVATE KEY",
	} {
		if len(secret) < 6 {
			t.Fatalf("%s: test could not find the secret to look for", what)
		}
		if strings.Contains(plain, secret) {
			t.Errorf("%s appears in plain text in the state or CLI output", what)
		}
	}
	if !strings.Contains(state.String(), "ciphertext") {
		t.Errorf("the state holds no encrypted values at all")
	}
}

// firstLine returns line n (0-based) of a PEM block: base64 of the key itself.
func firstLine(pemText string, n int) string {
	lines := strings.Split(pemText, "\n")
	if len(lines) <= n {
		return ""
	}
	return lines[n]
}

func clientKeyLine(kubeconfig string) string {
	for _, l := range strings.Split(kubeconfig, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "client-key-data: ") {
			v := strings.TrimPrefix(l, "client-key-data: ")
			if len(v) > 40 {
				return v[:40]
			}
			return v
		}
	}
	return ""
}
