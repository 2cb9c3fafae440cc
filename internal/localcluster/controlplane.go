package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	serviceCIDR         = "10.96.0.0/16"
	kubernetesServiceIP = "10.96.0.1" // first address of serviceCIDR
	serviceIssuer       = "https://kubernetes.default.svc.cluster.local"
	kcmKubeconfigFile   = "kube-controller-manager.kubeconfig"

	// startAttempts bounds retries when another program binds a chosen port first.
	startAttempts = 3
	probeInterval = 100 * time.Millisecond
	probeTimeout  = 2 * time.Second
)

// startCluster starts one control plane in dir, retrying with new ports when
// one was taken between choosing and binding it.
func startCluster(ctx context.Context, name, dir, binDir, hostIP string, lean bool) (*Cluster, error) {
	var err error
	for range startAttempts {
		var c *Cluster
		if c, err = startControlPlane(ctx, name, dir, binDir, hostIP, lean); err == nil {
			return c, nil
		}
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, fmt.Errorf("%s: %w", name, err)
}

// startControlPlane runs etcd, then kube-apiserver, then
// kube-controller-manager, each once the previous one answers.
func startControlPlane(ctx context.Context, name, dir, binDir, hostIP string, lean bool) (c *Cluster, err error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	pki, err := newClusterPKI(name, hostIP)
	if err != nil {
		return nil, err
	}
	if err := pki.write(dir); err != nil {
		return nil, err
	}
	var ports [3]int
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	etcdPort, peerPort, apiPort := ports[0], ports[1], ports[2]

	c = &Cluster{
		Name:   name,
		Server: "https://127.0.0.1:" + strconv.Itoa(apiPort),
		CAPEM:  pki.ca.certPEM,
		dir:    dir,
		ports:  ports[:],

		binDir:         binDir,
		hostIP:         hostIP,
		kubeletServing: pki.kubeletServing,
		pods:           map[types.UID]*realPod{},
	}
	c.Config = c.clientConfig(pki.admin)
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.kill()
		}
	}()

	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	if err = c.run(binDir, "etcd", etcdArgs(dir, etcdURL, "http://127.0.0.1:"+strconv.Itoa(peerPort))); err != nil {
		return c, err
	}
	if err = c.waitFor(ctx, "etcd", etcdHealthy(etcdURL)); err != nil {
		return c, err
	}
	if err = c.run(binDir, "kube-apiserver", apiserverArgs(dir, etcdURL, apiPort)); err != nil {
		return c, err
	}
	if err = c.waitFor(ctx, "kube-apiserver /readyz", c.apiserverReady); err != nil {
		return c, err
	}
	kcm := map[string]*rest.Config{name: c.clientConfig(pki.controllerManager)}
	if err = writeKubeconfig(filepath.Join(dir, kcmKubeconfigFile), kcm); err != nil {
		return c, err
	}
	if err = c.run(binDir, "kube-controller-manager", controllerManagerArgs(dir, lean)); err != nil {
		return c, err
	}
	// The default service account only appears once the controller-manager
	// works, and pods cannot be created before it exists.
	if err = c.waitFor(ctx, "the default service account", c.defaultServiceAccount); err != nil {
		return c, err
	}
	return c, nil
}

func etcdArgs(dir, clientURL, peerURL string) []string {
	return []string{
		"--name=etcd",
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + clientURL,
		"--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=etcd=" + peerURL,
		"--unsafe-no-fsync", // data is thrown away; fsync is what makes a busy disk slow
		"--log-level=warn",
	}
}

func apiserverArgs(dir, etcdURL string, port int) []string {
	file := func(name string) string { return filepath.Join(dir, name) }
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// The endpoint reconciler refuses a loopback address, and nothing in
		// these clusters dials the kubernetes Service from a pod.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + dir, // the default under /var/run may not be writable
		"--tls-cert-file=" + file(servingCertFile),
		"--tls-private-key-file=" + file(servingKeyFile),
		"--client-ca-file=" + file(caCertFile),
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=" + serviceIssuer,
		"--service-account-key-file=" + file(saPubFile),
		"--service-account-signing-key-file=" + file(saKeyFile),
		"--service-cluster-ip-range=" + serviceCIDR,
		// Webhook pods never run here, so calls to them could only fail.
		"--disable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
		"--allow-privileged=true",
		// Port-forward and logs go to the kubelet emulator at the node's
		// InternalIP; each side checks the other against the cluster CA.
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-certificate-authority=" + file(caCertFile),
		"--kubelet-client-certificate=" + file(kubeletCertFile),
		"--kubelet-client-key=" + file(kubeletKeyFile),
		"--profiling=false",
	}
}

func controllerManagerArgs(dir string, lean bool) []string {
	file := func(name string) string { return filepath.Join(dir, name) }
	args := []string{
		"--kubeconfig=" + file(kcmKubeconfigFile),
		"--service-account-private-key-file=" + file(saKeyFile), // fills legacy token secrets
		"--root-ca-file=" + file(caCertFile),
		"--use-service-account-credentials=true",
		"--leader-elect=false", // one instance; saves the lease traffic
		"--secure-port=0",      // nothing scrapes it, and it saves a port
		"--profiling=false",
	}
	if lean {
		args = append(args, "--controllers="+strings.Join(leanControllers, ","))
	}
	return args
}

// clientConfig is a REST config for a client-certificate user of this cluster.
func (c *Cluster) clientConfig(user *keyPair) *rest.Config {
	return &rest.Config{
		Host: c.Server,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   c.CAPEM,
			CertData: user.certPEM,
			KeyData:  user.keyPEM,
		},
		QPS:   50,
		Burst: 100,
	}
}

// run starts one binary with its log next to its data.
func (c *Cluster) run(binDir, name string, args []string) error {
	p, err := startProcess(name, exec.Command(filepath.Join(binDir, name), args...), filepath.Join(c.dir, name+".log"))
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	return nil
}

// waitFor polls ready until it succeeds, a process of the cluster exits, or
// ctx ends.
func (c *Cluster) waitFor(ctx context.Context, what string, ready func(context.Context) error) error {
	start := time.Now()
	for {
		for _, p := range c.procs {
			if p.exited() {
				return fmt.Errorf("waiting for %s: %w", what, p.exitError())
			}
		}
		probeCtx, cancel := context.WithTimeout(ctx, probeTimeout)
		err := ready(probeCtx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s (%s): %w; last error: %v", what, time.Since(start).Round(time.Millisecond), ctx.Err(), err)
		case <-time.After(probeInterval):
		}
	}
}

func etcdHealthy(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("etcd /health: %s", resp.Status)
		}
		return nil
	}
}

func (c *Cluster) apiserverReady(ctx context.Context) error {
	_, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	return err
}

func (c *Cluster) defaultServiceAccount(ctx context.Context) error {
	_, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
	return err
}

// StopAPIServer kills the cluster's kube-apiserver, as an outage would;
// StartAPIServer brings it back on the same port with the same data.
func (c *Cluster) StopAPIServer() {
	if p := c.proc("kube-apiserver"); p != nil {
		p.kill()
	}
}

// StartAPIServer restarts a stopped kube-apiserver and waits until it serves.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	old := c.proc("kube-apiserver")
	if old == nil {
		return fmt.Errorf("%s: no kube-apiserver to restart", c.Name)
	}
	if !old.exited() {
		return nil
	}
	p, err := startProcess(old.name, exec.Command(old.cmd.Path, old.cmd.Args[1:]...), old.logPath)
	if err != nil {
		return err
	}
	for i := range c.procs {
		if c.procs[i] == old {
			c.procs[i] = p
		}
	}
	return c.waitFor(ctx, "kube-apiserver /readyz", c.apiserverReady)
}

func (c *Cluster) proc(name string) *process {
	for _, p := range c.procs {
		if p.name == name {
			return p
		}
	}
	return nil
}
