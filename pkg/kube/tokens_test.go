package kube_test

import (
	"context"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/meshassert"
	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

func createServiceAccount(t *testing.T, c *localcluster.Cluster, ns, name string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if _, err := c.Client.CoreV1().ServiceAccounts(ns).Create(context.Background(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// createServiceAccountLater is createServiceAccount for another goroutine.
func createServiceAccountLater(t *testing.T, c *localcluster.Cluster, ns, name string) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if _, err := c.Client.CoreV1().ServiceAccounts(ns).Create(context.Background(), sa, metav1.CreateOptions{}); err != nil {
		t.Error(err)
	}
}

// bindReader gives the service account a read-only ClusterRole like
// istio-reader's: get/list/watch, nothing else.
func bindReader(t *testing.T, c *localcluster.Cluster, ns, sa string) {
	t.Helper()
	ctx := context.Background()
	name := "ristio-test-reader-" + ns
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""},
			Resources: []string{"pods", "services", "endpoints", "namespaces", "nodes"},
			Verbs:     []string{"get", "list", "watch"},
		}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}},
	}
	rbac := c.Client.RbacV1()
	if _, err := rbac.ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = rbac.ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = rbac.ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// whoami returns the user a token authenticates as.
func whoami(t *testing.T, src kubeconfig.Source) string {
	t.Helper()
	cfg, err := src.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status.UserInfo.Username
}

// The remote-secret path end to end on one cluster: a reader token, the
// kubeconfig Istio would get, and what that kubeconfig may and may not do.
func TestRequestTokenMakesAWorkingReadOnlyRemoteKubeconfig(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	ctx := timeout(t, time.Minute)
	createServiceAccount(t, c, ns, "reader")
	bindReader(t, c, ns, "reader")

	start := time.Now()
	token, expires, err := client.RequestToken(ctx, ns, "reader", 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	start = time.Now()
	const n = 5
	for range n {
		if _, _, err := client.RequestToken(ctx, ns, "reader", 2*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("RequestToken: first %s, then %s on average", first.Round(time.Millisecond), (time.Since(start) / n).Round(time.Millisecond))
	if d := time.Until(expires); d < 2*time.Hour-time.Minute || d > 2*time.Hour+time.Minute {
		t.Errorf("token expires in %s, want about 2h", d)
	}

	server, ca, err := kubeconfig.Source{File: world.Kubeconfig, Context: c.Name}.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	if server != c.Server || string(ca) != string(c.CAPEM) {
		t.Fatalf("Endpoint %q does not match the cluster %q", server, c.Server)
	}
	remote, err := kubeconfig.BuildRemote(c.Name, server, ca, token)
	if err != nil {
		t.Fatal(err)
	}
	if s, gotCA, tok, err := kubeconfig.ParseRemote(remote, c.Name); err != nil || s != server || string(gotCA) != string(ca) || tok != token {
		t.Fatalf("ParseRemote does not read back what BuildRemote wrote: %v", err)
	}
	src := kubeconfig.Source{Kubeconfig: string(remote)}
	if user := whoami(t, src); user != "system:serviceaccount:"+ns+":reader" {
		t.Fatalf("remote kubeconfig authenticates as %q", user)
	}

	// It reads what istiod reads...
	cfg, err := src.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list pods: %v", err)
	}
	if _, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list services: %v", err)
	}
	// ...and writes nothing.
	reader, err := kube.New(src)
	if err != nil {
		t.Fatal(err)
	}
	err = reader.ApplySecret(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "stolen", Namespace: ns},
		StringData: map[string]string{"k": "v"},
	})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("ApplySecret as the reader: %v, want Forbidden", err)
	}
	mustContain(t, err, "apply secret "+ns+"/stolen")
	if strings.Contains(err.Error(), token) {
		t.Fatal("error contains the token")
	}
	if _, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets as the reader: %v, want Forbidden", err)
	}
}

func TestRequestTokenRefuses(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	ctx := timeout(t, time.Minute)

	_, _, err := client.RequestToken(ctx, ns, "nobody", time.Hour)
	mustContain(t, err, "service account "+ns+"/nobody")
	if !apierrors.IsNotFound(err) {
		t.Errorf("want NotFound, got %v", err)
	}
	createServiceAccount(t, c, ns, "short")
	_, _, err = client.RequestToken(ctx, ns, "short", time.Minute)
	mustContain(t, err, "service account "+ns+"/short", "shorter than the minimum 10m0s")

	// ttl 0 takes the server's default.
	tok, exp, err := client.RequestToken(ctx, ns, "short", 0)
	if err != nil || tok == "" {
		t.Fatal(err)
	}
	t.Logf("default token lifetime: %s", time.Until(exp).Round(time.Minute))
}

func TestServiceAccountSecretToken(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	ctx := timeout(t, 2*time.Minute)
	secret := naming.ReaderTokenSecret("cluster2")

	// The service account appears a moment after the call, as it does
	// right after a Helm install.
	time.AfterFunc(time.Second, func() { createServiceAccountLater(t, c, ns, "reader") })
	rec := &recorder{}
	start := time.Now()
	token, err := client.ServiceAccountSecretToken(ctx, ns, "reader", secret, rec.progress)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ServiceAccountSecretToken: token after %s (service account created after 1s); progress %q",
		time.Since(start).Round(time.Millisecond), rec.all())
	if user := whoami(t, tokenSource(t, c, token)); user != "system:serviceaccount:"+ns+":reader" {
		t.Fatalf("token authenticates as %q", user)
	}

	s, err := client.GetSecret(ctx, ns, secret)
	if err != nil || s == nil {
		t.Fatalf("GetSecret: %v, %v", s, err)
	}
	t.Logf("token secret labels after the token was used: %v", s.Labels)
	if s.Labels[naming.ManagedByLabel] != naming.ManagedByValue || s.Annotations[corev1.ServiceAccountNameKey] != "reader" {
		t.Errorf("secret labels %v annotations %v", s.Labels, s.Annotations)
	}

	start = time.Now()
	again, err := client.ServiceAccountSecretToken(ctx, ns, "reader", secret, nil)
	if err != nil || again != token {
		t.Fatalf("second call: %v (same token: %v)", err, again == token)
	}
	t.Logf("ServiceAccountSecretToken with the secret in place: %s", time.Since(start).Round(time.Millisecond))

	// With the service account in place, the time is the token controller's.
	createServiceAccount(t, c, ns, "reader2")
	start = time.Now()
	if _, err := client.ServiceAccountSecretToken(ctx, ns, "reader2", "reader2-token", nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("ServiceAccountSecretToken for an existing service account: %s", time.Since(start).Round(time.Millisecond))

	// A secret of that name made for something else is not taken over.
	if err := client.ApplySecret(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: ns},
		StringData: map[string]string{"token": "not-a-token"},
	}); err != nil {
		t.Fatal(err)
	}
	_, err = client.ServiceAccountSecretToken(ctx, ns, "reader", "taken", nil)
	mustContain(t, err, "secret "+ns+"/taken", "type Opaque, not kubernetes.io/service-account-token")
	if strings.Contains(err.Error(), "not-a-token") {
		t.Fatal("error quotes secret data")
	}
}

func tokenSource(t *testing.T, c *localcluster.Cluster, token string) kubeconfig.Source {
	t.Helper()
	data, err := kubeconfig.BuildRemote(c.Name, c.Server, c.CAPEM, token)
	if err != nil {
		t.Fatal(err)
	}
	return kubeconfig.Source{Kubeconfig: string(data)}
}

func TestSecrets(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	ctx := timeout(t, time.Minute)

	if s, err := client.GetSecret(ctx, ns, "cacerts"); s != nil || err != nil {
		t.Fatalf("GetSecret before: %v, %v", s, err)
	}
	apply := func(data map[string][]byte) {
		t.Helper()
		err := client.ApplySecret(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "cacerts", Namespace: ns, Labels: naming.ManagedLabels()},
			Type:       corev1.SecretTypeOpaque,
			Data:       data,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	apply(map[string][]byte{"ca-cert.pem": []byte("A"), "ca-key.pem": []byte("B")})
	apply(map[string][]byte{"ca-cert.pem": []byte("C")})
	s, err := client.GetSecret(ctx, ns, "cacerts")
	if err != nil || s == nil {
		t.Fatalf("GetSecret: %v, %v", s, err)
	}
	if len(s.Data) != 1 || string(s.Data["ca-cert.pem"]) != "C" || s.Labels[naming.ManagedByLabel] != naming.ManagedByValue {
		t.Errorf("secret after second apply: keys %d, labels %v", len(s.Data), s.Labels)
	}
	if err := client.DeleteSecret(ctx, ns, "cacerts"); err != nil {
		t.Fatal(err)
	}
	if err := client.DeleteSecret(ctx, ns, "cacerts"); err != nil {
		t.Fatalf("DeleteSecret of an absent secret: %v", err)
	}
	if s, err := client.GetSecret(ctx, ns, "cacerts"); s != nil || err != nil {
		t.Fatalf("GetSecret after delete: %v, %v", s, err)
	}
	mustContain(t, client.ApplySecret(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "x"}}), "apply secret x", "namespace")
}

// tokenAuthenticated asks the API server, by TokenReview, whether token
// authenticates now.
func tokenAuthenticated(t *testing.T, c *localcluster.Cluster, token string) bool {
	t.Helper()
	r, err := c.Client.AuthenticationV1().TokenReviews().Create(context.Background(), &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status.Authenticated
}

// TestRequestBoundToken: a token bound to its own Secret authenticates
// while the Secret exists and stops the moment it is deleted; a token that
// cannot be had leaves no Secret behind.
func TestRequestBoundToken(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	createServiceAccount(t, c, ns, "reader")
	ctx := timeout(t, time.Minute)
	labels := map[string]string{naming.ManagedByLabel: naming.ManagedByValue}

	token, expires, err := client.RequestBoundToken(ctx, ns, "reader", time.Hour, "binding-1", labels, map[string]string{naming.OwnerAnnotation: "rs-1"})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(expires); d < 50*time.Minute || d > 70*time.Minute {
		t.Errorf("expires in %s, want about an hour", d)
	}
	anchor, err := c.Client.CoreV1().Secrets(ns).Get(ctx, "binding-1", metav1.GetOptions{})
	if err != nil || anchor.Labels[naming.ManagedByLabel] != naming.ManagedByValue || anchor.Annotations[naming.OwnerAnnotation] != "rs-1" {
		t.Fatalf("binding secret %v (%v): want it labelled and annotated", anchor, err)
	}
	if !tokenAuthenticated(t, c, token) {
		t.Fatal("a fresh bound token does not authenticate")
	}
	if err := client.DeleteSecret(ctx, ns, "binding-1"); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	meshassert.TokenRevoked(t, c, token)
	t.Logf("the token stopped authenticating %s after its binding secret was deleted", time.Since(deleted).Round(100*time.Millisecond))

	_, _, err = client.RequestBoundToken(ctx, ns, "no-such-account", time.Hour, "binding-2", labels, nil)
	if err == nil || !strings.Contains(err.Error(), "bound to secret binding-2") {
		t.Fatalf("a token for a missing service account: %v", err)
	}
	if _, err := c.Client.CoreV1().Secrets(ns).Get(ctx, "binding-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the binding secret of a token never issued was left behind (%v)", err)
	}
}
