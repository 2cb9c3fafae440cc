package localcluster

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// TestWorld starts three clusters once and checks, one subtest each, what the
// rest of ristio's tests rely on; the last subtest stops the world.
func TestWorld(t *testing.T) {
	start := time.Now()
	w := StartT(t, 3)
	t.Logf("started 3 clusters in %s", time.Since(start).Round(time.Millisecond))
	c1, c2, c3 := w.Cluster("cluster1"), w.Cluster("cluster2"), w.Cluster("cluster3")

	t.Run("memory per cluster", func(t *testing.T) {
		for _, c := range w.Clusters {
			rss, err := c.RSS()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: RSS %d MiB (etcd + kube-apiserver + kube-controller-manager)", c.Name, rss>>20)
		}
	})

	t.Run("the written kubeconfig reaches every cluster with verified TLS", func(t *testing.T) {
		for _, c := range w.Clusters {
			cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
				&clientcmd.ClientConfigLoadingRules{ExplicitPath: w.Kubeconfig},
				&clientcmd.ConfigOverrides{CurrentContext: c.Name},
			).ClientConfig()
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			if cfg.Insecure || len(cfg.CAData) == 0 || cfg.Host != c.Server {
				t.Fatalf("%s: kubeconfig has insecure=%v, %d bytes of CA, server %s", c.Name, cfg.Insecure, len(cfg.CAData), cfg.Host)
			}
			client := kubernetes.NewForConfigOrDie(cfg)
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: "hello"},
				Data:       map[string]string{"cluster": c.Name},
			}
			if _, err := client.CoreV1().ConfigMaps("default").Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
		}
		// Each object landed in its own cluster only.
		for _, c := range w.Clusters {
			cm, err := c.Client.CoreV1().ConfigMaps("default").Get(t.Context(), "hello", metav1.GetOptions{})
			if err != nil || cm.Data["cluster"] != c.Name {
				t.Fatalf("%s: got %v, %v", c.Name, cm.Data, err)
			}
		}
	})

	t.Run("a TokenRequest token carries only its ClusterRole", func(t *testing.T) {
		client := readerClient(t, c1, requestToken(t, c1, readerServiceAccount(t, c1, "reader")))
		if _, err := client.CoreV1().Services("").List(t.Context(), metav1.ListOptions{}); err != nil {
			t.Fatalf("list services as reader: %v", err)
		}
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "nope"}}
		_, err := client.CoreV1().Secrets("default").Create(t.Context(), secret, metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("create secret as reader: want Forbidden, got %v", err)
		}
	})

	t.Run("the controller-manager fills a legacy token secret", func(t *testing.T) { legacyTokenFilled(t, c2) })

	t.Run("the load-balancer emulator gives IPs and hostnames", func(t *testing.T) {
		ctx := t.Context()
		c1.RunLoadBalancer(ctx, LBIP)
		c2.RunLoadBalancer(ctx, LBHostname)
		c3.RunLoadBalancer(ctx, LBIP)
		for _, c := range w.Clusters {
			createLoadBalancer(t, c, "default", "gw")
		}
		createLoadBalancer(t, c1, "default", "gw2")

		addrs := map[string]string{
			"cluster1/gw":  waitForAddress(t, c1, "default", "gw"),
			"cluster1/gw2": waitForAddress(t, c1, "default", "gw2"),
			"cluster3/gw":  waitForAddress(t, c3, "default", "gw"),
		}
		lbRange := netip.MustParsePrefix("127.0.1.0/24")
		seen := map[string]string{}
		for svc, addr := range addrs {
			if ip, err := netip.ParseAddr(addr); err != nil || !lbRange.Contains(ip) {
				t.Fatalf("%s: want an IP in %s, got %q", svc, lbRange, addr)
			}
			if other, dup := seen[addr]; dup {
				t.Fatalf("%s got %s, already given to %s", svc, addr, other)
			}
			seen[addr] = svc
		}
		if got, want := waitForAddress(t, c2, "default", "gw"), "gw.default.cluster2.lb.example"; got != want {
			t.Fatalf("hostname mode: got %q, want %q", got, want)
		}

		// A changed address stays: the emulator only fills empty ones.
		if err := c1.SetServiceAddress(ctx, "default", "gw", "127.0.1.200"); err != nil {
			t.Fatal(err)
		}
		if err := c2.SetServiceAddress(ctx, "default", "gw", "moved.lb.example"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * emulatorInterval)
		if got := serviceAddress(t, c1, "default", "gw"); got != "127.0.1.200" {
			t.Fatalf("after SetServiceAddress: got %q", got)
		}
		if got := serviceAddress(t, c2, "default", "gw"); got != "moved.lb.example" {
			t.Fatalf("after SetServiceAddress: got %q", got)
		}
	})

	kubelet := t.Context() // the kubelet runs on: the namespace's bound pods wait for it to go
	t.Run("a Deployment becomes available with the kubelet emulator", func(t *testing.T) { deploymentBecomesAvailable(t, kubelet, c3) })

	t.Run("MakeDeploymentAvailable without the kubelet emulator", func(t *testing.T) {
		createDeployment(t, c1, "default", "once", 1)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		if err := c1.MakeDeploymentAvailable(ctx, "default", "once"); err != nil {
			t.Fatal(err)
		}
		d, err := c1.Client.AppsV1().Deployments("default").Get(t.Context(), "once", metav1.GetOptions{})
		if err != nil || d.Status.AvailableReplicas != 1 {
			t.Fatalf("available replicas %d, %v", d.Status.AvailableReplicas, err)
		}
	})

	t.Run("a namespace with pods is deleted", func(t *testing.T) { namespaceDeleted(t, c3, "apps") })

	t.Run("Stop leaves no process, port or data behind", func(t *testing.T) {
		var pids, ports []int
		for _, c := range w.Clusters {
			pids = append(pids, c.pids()...)
			ports = append(ports, c.ports...)
		}
		if err := w.Stop(); err != nil {
			t.Fatal(err)
		}
		for _, pid := range pids {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !os.IsNotExist(err) {
				t.Errorf("process %d still exists (%v)", pid, err)
			}
		}
		for _, port := range ports {
			if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
				conn.Close()
				t.Errorf("port %d still accepts connections", port)
			}
		}
		for _, c := range w.Clusters {
			if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
				t.Errorf("%s: data directory %s still exists (%v)", c.Name, c.dir, err)
			}
		}
	})
}

// legacyTokenFilled checks that c's controller-manager fills a legacy
// service-account token secret with a token the API server accepts.
func legacyTokenFilled(t *testing.T, c *Cluster) {
	sa := readerServiceAccount(t, c, "legacy-reader")
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        sa.Name + "-token",
			Namespace:   sa.Namespace,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: sa.Name},
		},
		Type: corev1.SecretTypeServiceAccountToken,
	}
	secrets := c.Client.CoreV1().Secrets(sa.Namespace)
	if _, err := secrets.Create(t.Context(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var token string
	eventually(t, time.Minute, "the token in "+secret.Name, func(ctx context.Context) (bool, error) {
		s, err := secrets.Get(ctx, secret.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		token = string(s.Data[corev1.ServiceAccountTokenKey])
		return token != "" && string(s.Data[corev1.ServiceAccountRootCAKey]) == string(c.CAPEM), nil
	})
	if _, err := readerClient(t, c, token).CoreV1().Services("").List(t.Context(), metav1.ListOptions{}); err != nil {
		t.Fatalf("list services with the legacy token: %v", err)
	}
}

// deploymentBecomesAvailable runs the kubelet emulator on c until kubelet
// ends and checks that a Deployment of two pods in a new namespace apps
// becomes available, its pods bound to the node as a scheduler would.
func deploymentBecomesAvailable(t *testing.T, kubelet context.Context, c *Cluster) {
	c.RunKubelet(kubelet)
	createNamespace(t, c, "apps")
	createDeployment(t, c, "apps", "web", 2)
	eventually(t, 2*time.Minute, "deployment apps/web available", func(ctx context.Context) (bool, error) {
		d, err := c.Client.AppsV1().Deployments("apps").Get(ctx, "web", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 2, err
	})
	pods, err := c.Client.CoreV1().Pods("apps").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if !podReady(&p) || p.Status.PodIP == "" || p.Spec.NodeName != c.NodeName() {
			t.Fatalf("pod %s: phase %s, IP %q, node %q", p.Name, p.Status.Phase, p.Status.PodIP, p.Spec.NodeName)
		}
	}
}

// namespaceDeleted deletes namespace ns of c and waits for it to be gone.
func namespaceDeleted(t *testing.T, c *Cluster, ns string) {
	if err := c.Client.CoreV1().Namespaces().Delete(t.Context(), ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "namespace "+ns+" gone", func(ctx context.Context) (bool, error) {
		_, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
}

// TestLeanWorld checks that a lean cluster (Options.Lean: the
// controller-manager runs only leanControllers) still does what ristio's
// tests need, and logs its memory.
func TestLeanWorld(t *testing.T) {
	w := StartOptionsT(t, Options{N: 1, Lean: true})
	c := w.Clusters[0]
	rss, err := c.RSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lean cluster: RSS %d MiB (etcd + kube-apiserver + kube-controller-manager)", rss>>20)
	t.Run("the controller-manager fills a legacy token secret", func(t *testing.T) { legacyTokenFilled(t, c) })
	kubelet := t.Context() // the kubelet runs on: the namespace's bound pods wait for it to go
	t.Run("a Deployment becomes available with the kubelet emulator", func(t *testing.T) { deploymentBecomesAvailable(t, kubelet, c) })
	t.Run("a namespace with pods is deleted", func(t *testing.T) { namespaceDeleted(t, c, "apps") })
}

func TestStartWithoutBinariesSaysMakeTools(t *testing.T) {
	_, err := Start(t.Context(), Options{N: 1, BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("want an error that says to run make tools, got %v", err)
	}
}

// readerServiceAccount creates a service account bound to a ClusterRole that
// may only read services, endpoints, pods and namespaces.
func readerServiceAccount(t *testing.T, c *Cluster, name string) *corev1.ServiceAccount {
	t.Helper()
	ctx := t.Context()
	sa, err := c.Client.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""},
			Resources: []string{"services", "endpoints", "pods", "namespaces"},
			Verbs:     []string{"get", "list", "watch"},
		}},
	}
	if _, err := c.Client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: sa.Namespace, Name: sa.Name}},
	}
	if _, err := c.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return sa
}

func requestToken(t *testing.T, c *Cluster, sa *corev1.ServiceAccount) string {
	t.Helper()
	expiry := int64(3600)
	tr, err := c.Client.CoreV1().ServiceAccounts(sa.Namespace).CreateToken(t.Context(), sa.Name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// readerClient authenticates with a bearer token only, verifying the server
// against the cluster CA: what a remote secret gives istiod.
func readerClient(t *testing.T, c *Cluster, token string) kubernetes.Interface {
	t.Helper()
	cfg := &rest.Config{Host: c.Server, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: c.CAPEM}}
	return kubernetes.NewForConfigOrDie(cfg)
}

func createNamespace(t *testing.T, c *Cluster, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.Client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func createDeployment(t *testing.T, c *Cluster, ns, name string, replicas int32) {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}}},
			},
		},
	}
	if _, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func createLoadBalancer(t *testing.T, c *Cluster, ns, name string) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "tls", Port: 15443}},
		},
	}
	if _, err := c.Client.CoreV1().Services(ns).Create(t.Context(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func serviceAddress(t *testing.T, c *Cluster, ns, name string) string {
	t.Helper()
	svc, err := c.Client.CoreV1().Services(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ingress := svc.Status.LoadBalancer.Ingress; len(ingress) > 0 {
		return cmp.Or(ingress[0].IP, ingress[0].Hostname)
	}
	return ""
}

func waitForAddress(t *testing.T, c *Cluster, ns, name string) string {
	t.Helper()
	var addr string
	eventually(t, 30*time.Second, fmt.Sprintf("%s: address of %s/%s", c.Name, ns, name), func(context.Context) (bool, error) {
		addr = serviceAddress(t, c, ns, name)
		return addr != "", nil
	})
	return addr
}
