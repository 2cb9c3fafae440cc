package provider_test

import (
	"context"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/meshassert"
	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
)

// TestRemoteSecretLifecycle lets cluster2 watch cluster1 through a remote
// secret made by the provider: with a bounded token that is reissued near
// its end, after a hand edit, and with istioctl's long-lived token.
func TestRemoteSecretLifecycle(t *testing.T) {
	w := lifecycleWorld(t, 2)
	source, target := w.Clusters[0], w.Clusters[1]
	ctx := context.Background()
	for _, c := range w.Clusters {
		createReaderAccount(t, c)
	}
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	s := lifecycleServer(t, clk)
	raw := map[string]property.Value{
		"source":              secretConn(t, w, source.Name),
		"target":              fileConn(w, target.Name),
		"readerTokenTtlHours": property.New(24.0),
		"timeoutSeconds":      property.New(lifecycleTimeout),
	}
	r := newResource(s, "RemoteSecret", "cluster1-in-cluster2")
	var inputs property.Map
	secretName := "istio-remote-secret-" + source.Name

	step(t, "check accepts two clusters of one kubeconfig", func(t *testing.T) {
		inputs = r.check(t, raw)
		wantSecret(t, inputs, "source", "kubeconfig")
	})

	step(t, "a preview touches nothing in either cluster", func(t *testing.T) {
		before := snapshots(t, w)
		r.preview(t, inputs)
		wantUntouched(t, w, before)
	})

	var firstToken string
	step(t, "create writes the remote secret into the target", func(t *testing.T) {
		r.create(t, inputs)
		secret := getSecret(t, target, istioNS, secretName)
		if secret == nil {
			t.Fatalf("%s has no secret %s", target.Name, secretName)
		}
		if secret.Labels["istio/multiCluster"] != "true" || secret.Labels["app.kubernetes.io/managed-by"] != "ristio" {
			t.Errorf("labels = %v, want istio/multiCluster=true and managed-by ristio", secret.Labels)
		}
		if got := secret.Annotations["networking.istio.io/cluster"]; got != source.Name {
			t.Errorf("annotation networking.istio.io/cluster = %q, want %q", got, source.Name)
		}
		if getSecret(t, source, istioNS, secretName) != nil {
			t.Errorf("the remote secret was written to the source too")
		}
		if got := r.str("secretName"); got != secretName {
			t.Errorf("secretName = %q, want %q", got, secretName)
		}
		if got := r.str("server"); got != source.Server {
			t.Errorf("server = %q, want the source's %q", got, source.Server)
		}
		if got, want := r.str("tokenIssuedAt"), clk.Now().Format(time.RFC3339); got != want {
			t.Errorf("tokenIssuedAt = %q, want the provider clock's %q", got, want)
		}
		expires, err := time.Parse(time.RFC3339, r.str("tokenExpiresAt"))
		if err != nil {
			t.Fatalf("tokenExpiresAt: %v", err)
		}
		if want := time.Now().Add(24 * time.Hour); expires.Before(want.Add(-5*time.Minute)) || expires.After(want.Add(5*time.Minute)) {
			t.Errorf("tokenExpiresAt = %s, want about %s (24h)", expires, want.UTC().Format(time.RFC3339))
		}
		if r.str("checksum") == "" || r.str("checksum") != r.str("appliedChecksum") {
			t.Errorf("checksum %q, appliedChecksum %q: want equal and set", r.str("checksum"), r.str("appliedChecksum"))
		}
		firstToken = wantReaderKubeconfig(t, target, source)
	})

	step(t, "create keeps the source kubeconfig secret", func(t *testing.T) {
		wantSecret(t, r.state, "source", "kubeconfig")
	})

	step(t, "a fresh secret has no diff", func(t *testing.T) {
		wantNoChanges(t, r.diff(t, inputs))
		r.read(t)
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "a token at 75% of its life has no diff", func(t *testing.T) {
		clk.Advance(18 * time.Hour)
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "a token past 80% of its life diffs as an update of tokenExpiresAt", func(t *testing.T) {
		clk.Advance(2 * time.Hour)
		wantUpdate(t, r.diff(t, inputs), "tokenExpiresAt")
	})

	step(t, "the update reissues the token", func(t *testing.T) {
		issued := r.str("tokenIssuedAt")
		r.update(t, inputs)
		if got := r.str("tokenIssuedAt"); got == issued || got != clk.Now().Format(time.RFC3339) {
			t.Errorf("tokenIssuedAt = %q (was %q), want the provider clock's %s", got, issued, clk.Now().Format(time.RFC3339))
		}
		if token := wantReaderKubeconfig(t, target, source); token == firstToken {
			t.Errorf("the update kept the old token")
		}
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "the renewal revoked the old token: its binding secret is gone", func(t *testing.T) {
		meshassert.TokenRevoked(t, source, firstToken)
		if b := r.str("tokenBinding"); b == "" || getSecret(t, source, istioNS, b) == nil {
			t.Errorf("the new token's binding secret %q is not in %s", b, source.Name)
		}
	})

	step(t, "a secret edited by hand reads back with another checksum", func(t *testing.T) {
		secret := getSecret(t, target, istioNS, secretName)
		secret.Data[source.Name] = []byte("not a kubeconfig")
		if _, err := target.Client.CoreV1().Secrets(istioNS).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		r.read(t)
		if r.str("checksum") == r.str("appliedChecksum") {
			t.Errorf("checksum = appliedChecksum = %q after a hand edit", r.str("checksum"))
		}
	})

	step(t, "an edited secret diffs as an update, not a replacement", func(t *testing.T) {
		wantUpdate(t, r.diff(t, inputs), "checksum")
	})

	step(t, "a preview of the repair touches nothing in either cluster", func(t *testing.T) {
		before := snapshots(t, w)
		r.previewUpdate(t, inputs)
		wantUntouched(t, w, before)
	})

	step(t, "the update restores the secret", func(t *testing.T) {
		r.update(t, inputs)
		wantReaderKubeconfig(t, target, source)
		if r.str("checksum") != r.str("appliedChecksum") {
			t.Errorf("checksum %q != appliedChecksum %q after the repair", r.str("checksum"), r.str("appliedChecksum"))
		}
		r.read(t)
		wantNoChanges(t, r.diff(t, inputs))
		wantSecret(t, r.state, "source", "kubeconfig")
	})

	step(t, "another source cluster name is a replacement", func(t *testing.T) {
		wantReplaceOnRename(t, r.diff(t, inputs.Set("source", withName(inputs.Get("source"), "cluster9"))), "source")
	})

	step(t, "another target cluster name is a replacement", func(t *testing.T) {
		wantReplaceOnRename(t, r.diff(t, inputs.Set("target", withName(inputs.Get("target"), "cluster9"))), "target")
	})

	step(t, "delete removes the secret from the target and revokes its token", func(t *testing.T) {
		token := wantReaderKubeconfig(t, target, source)
		binding := r.str("tokenBinding")
		r.delete(t)
		if getSecret(t, target, istioNS, secretName) != nil {
			t.Errorf("%s survived delete", secretName)
		}
		if getSecret(t, source, istioNS, binding) != nil {
			t.Errorf("the token's binding secret %s survived delete in %s", binding, source.Name)
		}
		meshassert.TokenRevoked(t, source, token)
	})

	tokenSecret := "istio-reader-token-" + target.Name
	longLived := newResource(s, "RemoteSecret", "cluster1-in-cluster2-long-lived")
	var longLivedInputs property.Map

	step(t, "serviceAccountSecret mode writes a long-lived token", func(t *testing.T) {
		in := map[string]property.Value{}
		for k, v := range raw {
			in[k] = v
		}
		delete(in, "readerTokenTtlHours")
		in["readerTokenMode"] = str("serviceAccountSecret")
		longLivedInputs = longLived.check(t, in)
		longLived.create(t, longLivedInputs)
		if got := longLived.str("tokenExpiresAt"); got != "" {
			t.Errorf("tokenExpiresAt = %q, want empty for a long-lived token", got)
		}
		ts := getSecret(t, source, istioNS, tokenSecret)
		if ts == nil {
			t.Fatalf("%s has no token secret %s", source.Name, tokenSecret)
		}
		if ts.Type != corev1.SecretTypeServiceAccountToken || ts.Labels["app.kubernetes.io/managed-by"] != "ristio" {
			t.Errorf("token secret type %s labels %v, want a managed service-account token", ts.Type, ts.Labels)
		}
		if token := wantReaderKubeconfig(t, target, source); token != string(ts.Data[corev1.ServiceAccountTokenKey]) {
			t.Errorf("the remote kubeconfig does not carry the token of %s", tokenSecret)
		}
	})

	step(t, "a long-lived token is never due for renewal", func(t *testing.T) {
		clk.Advance(2 * 365 * 24 * time.Hour)
		wantNoChanges(t, longLived.diff(t, longLivedInputs))
	})

	step(t, "delete removes the secret from the target and the token from the source", func(t *testing.T) {
		longLived.delete(t)
		if getSecret(t, target, istioNS, secretName) != nil {
			t.Errorf("%s survived delete", secretName)
		}
		if getSecret(t, source, istioNS, tokenSecret) != nil {
			t.Errorf("token secret %s survived delete in %s", tokenSecret, source.Name)
		}
	})

	step(t, "leaving serviceAccountSecret mode revokes the long-lived token", func(t *testing.T) {
		rs := newResource(s, "RemoteSecret", "cluster1-in-cluster2-mode-switch")
		saInputs := longLivedInputs
		rs.create(t, saInputs)
		if getSecret(t, source, istioNS, tokenSecret) == nil {
			t.Fatalf("no token secret %s in %s", tokenSecret, source.Name)
		}
		bounded := saInputs.Set("readerTokenMode", str("tokenRequest"))
		wantUpdate(t, rs.diff(t, bounded), "readerTokenMode")
		rs.update(t, bounded)
		wantReaderKubeconfig(t, target, source)
		if getSecret(t, source, istioNS, tokenSecret) != nil {
			t.Errorf("after switching to tokenRequest the long-lived token secret %s still exists in %s", tokenSecret, source.Name)
		}
		rs.delete(t)
	})

	step(t, "remoteApiServer is the server the remote kubeconfig names", func(t *testing.T) {
		const private = "https://api.cluster1.internal.example:6443"
		rs := newResource(s, "RemoteSecret", "cluster1-in-cluster2-private-endpoint")
		with := map[string]property.Value{"remoteApiServer": str(private)}
		for k, v := range raw {
			with[k] = v
		}
		rs.create(t, rs.check(t, with))
		secret := getSecret(t, target, istioNS, secretName)
		if secret == nil {
			t.Fatalf("%s has no secret %s", target.Name, secretName)
		}
		cfg, err := clientcmd.Load(secret.Data[source.Name])
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Clusters[source.Name].Server; got != private {
			t.Errorf("remote kubeconfig server = %q, want remoteApiServer %q", got, private)
		}
		if got := rs.str("server"); got != private {
			t.Errorf("server output = %q, want %q", got, private)
		}
		rs.delete(t)
	})

	step(t, "adopting istioctl's secret keeps its API server until remoteApiServer is set", func(t *testing.T) {
		clk.Advance(time.Now().UTC().Truncate(time.Second).Sub(clk.Now())) // back to now: a fresh token is not due
		// istioctl create-remote-secret --server: cluster1 through another endpoint.
		const istioctlServer = "https://api.cluster1.istioctl.example:6443"
		made, err := kubeconfig.BuildRemote(source.Name, istioctlServer, source.CAPEM, "istioctl-token")
		if err != nil {
			t.Fatal(err)
		}
		foreign := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: istioNS, Labels: map[string]string{"istio/multiCluster": "true"},
				Annotations: map[string]string{"networking.istio.io/cluster": source.Name}},
			Data: map[string][]byte{source.Name: made},
		}
		if _, err := target.Client.CoreV1().Secrets(istioNS).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		rs := newResource(s, "RemoteSecret", "cluster1-in-cluster2-adopted")
		adopting := map[string]property.Value{"adopt": property.New(true)}
		for k, v := range raw {
			adopting[k] = v
		}
		in := rs.check(t, adopting)
		rs.create(t, in)
		if got := writtenServer(t, target, secretName, source.Name); got != istioctlServer {
			t.Errorf("adopted secret's server = %q, want istioctl's %q", got, istioctlServer)
		}
		if got, kept := rs.str("server"), rs.str("keptServer"); got != istioctlServer || kept != istioctlServer {
			t.Errorf("server, keptServer = %q, %q, want istioctl's %q", got, kept, istioctlServer)
		}
		wantNoChanges(t, rs.diff(t, in))

		withServer := map[string]property.Value{"remoteApiServer": str(source.Server)}
		for k, v := range adopting {
			withServer[k] = v
		}
		next := rs.check(t, withServer)
		wantUpdate(t, rs.diff(t, next), "remoteApiServer")
		rs.update(t, next)
		if got := writtenServer(t, target, secretName, source.Name); got != source.Server {
			t.Errorf("after remoteApiServer, the secret's server = %q, want %q", got, source.Server)
		}
		if kept := rs.str("keptServer"); kept != "" {
			t.Errorf("keptServer = %q once remoteApiServer is set, want none", kept)
		}
		wantNoChanges(t, rs.diff(t, next))
		rs.delete(t)
	})
}

// writtenServer is the API server the remote secret name in into gives for
// cluster.
func writtenServer(t *testing.T, into *localcluster.Cluster, name, cluster string) string {
	t.Helper()
	secret := getSecret(t, into, istioNS, name)
	if secret == nil {
		t.Fatalf("%s has no secret %s", into.Name, name)
	}
	cfg, err := clientcmd.Load(secret.Data[cluster])
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Clusters[cluster].Server
}

// createReaderAccount makes by hand what istio-base would: istio-system, the
// reader service account and a read-only cluster role bound to it.
func createReaderAccount(t *testing.T, c *localcluster.Cluster) {
	t.Helper()
	ctx := context.Background()
	const sa = "istio-reader-service-account"
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
	}
	must(c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: istioNS}}, metav1.CreateOptions{}))
	must(c.Client.CoreV1().ServiceAccounts(istioNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}))
	must(c.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-reader-test"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}}},
	}, metav1.CreateOptions{}))
	must(c.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-reader-test"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "istio-reader-test"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: istioNS}},
	}, metav1.CreateOptions{}))
}

// wantReaderKubeconfig checks that the remote secret for from in into holds
// a kubeconfig that reaches from as the reader: it may list, not create. It
// returns the kubeconfig's token.
func wantReaderKubeconfig(t *testing.T, into, from *localcluster.Cluster) string {
	t.Helper()
	ctx := context.Background()
	secret := getSecret(t, into, istioNS, "istio-remote-secret-"+from.Name)
	if secret == nil {
		t.Fatalf("%s: no remote secret for %s", into.Name, from.Name)
	}
	raw := secret.Data[from.Name]
	cfg, err := clientcmd.Load(raw)
	if err != nil {
		t.Fatalf("remote kubeconfig: %v", err)
	}
	if cfg.CurrentContext != from.Name || cfg.Clusters[from.Name] == nil || cfg.AuthInfos[from.Name] == nil {
		t.Fatalf("remote kubeconfig: current context %q, want cluster, user and context all %q", cfg.CurrentContext, from.Name)
	}
	if got := cfg.Clusters[from.Name].Server; got != from.Server {
		t.Errorf("remote kubeconfig server = %q, want %q", got, from.Server)
	}
	token := cfg.AuthInfos[from.Name].Token
	if token == "" {
		t.Fatalf("remote kubeconfig has no bearer token")
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Services(istioNS).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("the reader token cannot list services in %s: %v", from.Name, err)
	}
	_, err = client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "should-not-exist"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("the reader token creating a secret in %s: %v, want Forbidden", from.Name, err)
	}
	return token
}
