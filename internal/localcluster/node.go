package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/utils/ptr"
)

// The node every cluster has once its kubelet emulator runs. Only pods that
// run as real processes (see podrunner.go) are bound to it: the others stay
// unscheduled, so the API server still deletes them at once.
const (
	nodeLeaseNamespace = "kube-node-lease"
	// nodeHeartbeat is well inside the node lifecycle controller's grace
	// period, so the node never turns NotReady and its pods are never evicted.
	nodeHeartbeat = 10 * time.Second
	// Port-forward streams end when idle this long, as the kubelet's default.
	portForwardIdleTimeout = 4 * time.Hour
	streamCreationTimeout  = 30 * time.Second
)

// NodeName is the name of the cluster's emulated node.
func (c *Cluster) NodeName() string { return c.Name + "-node" }

// startNode starts the kubelet API server once and registers the node.
func (c *Cluster) startNode(ctx context.Context) error {
	if c.kubeletPort == 0 {
		if err := c.startKubeletServer(); err != nil {
			return err
		}
	}
	if err := c.registerNode(ctx); err != nil {
		return err
	}
	c.nodeRegistered.Store(true)
	return nil
}

// nodeAddress is the InternalIP the emulated nodes report and the kubelet
// emulator listens on.
func nodeAddress() string { return "127.0.0.1" }

// startKubeletServer serves the part of the kubelet API the API server calls
// for `kubectl port-forward` and `kubectl logs`, over TLS with a certificate
// from the cluster CA, accepting only the API server's kubelet-client
// certificate.
func (c *Cluster) startKubeletServer() error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAPEM)
	cert, err := tls.X509KeyPair(c.kubeletServing.certPEM, c.kubeletServing.keyPEM)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", net.JoinHostPort(c.hostIP, "0"))
	if err != nil {
		return err
	}
	c.kubeletPort = l.Addr().(*net.TCPAddr).Port
	mux := http.NewServeMux()
	mux.HandleFunc("/portForward/{namespace}/{pod}", c.servePortForward)
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", c.serveContainerLogs)
	srv := &http.Server{
		Handler: mux,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientCAs:    pool,
			ClientAuth:   tls.RequireAndVerifyClientCert,
			MinVersion:   tls.VersionTLS12,
		},
		ReadHeaderTimeout: 10 * time.Second,
	}
	c.emulators.Go(func() { _ = srv.ServeTLS(l, "", "") })
	context.AfterFunc(c.life, func() { _ = srv.Close() })
	return nil
}

func (c *Cluster) servePortForward(w http.ResponseWriter, r *http.Request) {
	pod := c.runningPod(r.PathValue("namespace"), r.PathValue("pod"))
	if pod == nil {
		http.Error(w, "pod does not run on this node", http.StatusNotFound)
		return
	}
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	portforward.ServePortForward(w, r, pod, pod.name, string(pod.uid), opts,
		portForwardIdleTimeout, streamCreationTimeout, portforward.SupportedProtocols)
}

// serveContainerLogs returns the process's output; tailLines is honoured,
// the other options of `kubectl logs` are not needed here.
func (c *Cluster) serveContainerLogs(w http.ResponseWriter, r *http.Request) {
	pod := c.runningPod(r.PathValue("namespace"), r.PathValue("pod"))
	if pod == nil || r.PathValue("container") != pod.container {
		http.Error(w, "container does not run on this node", http.StatusNotFound)
		return
	}
	data, err := os.ReadFile(pod.logPath())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if v := r.URL.Query().Get("tailLines"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			http.Error(w, "bad tailLines", http.StatusBadRequest)
			return
		}
		data = tailLines(data, n)
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(data)
}

func tailLines(data []byte, n int) []byte {
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if data[i] == '\n' {
			if n--; n == 0 {
				return data[i+1:]
			}
		}
	}
	return data
}

// PortForward implements portforward.PortForwarder: it copies the stream to
// the port the process really listens on.
func (p *realPod) PortForward(ctx context.Context, _ string, _ string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	local, ok := p.ports[port]
	if !ok {
		return fmt.Errorf("pod %s/%s does not listen on port %d", p.namespace, p.name, port)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(local)))
	if err != nil {
		return fmt.Errorf("pod %s/%s port %d: %w", p.namespace, p.name, port, err)
	}
	defer conn.Close()
	done := make(chan error, 2)
	go func() { _, err := io.Copy(conn, stream); done <- err }()
	go func() { _, err := io.Copy(stream, conn); done <- err }()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// registerNode creates the Node the API server resolves pods' kubelet from:
// its InternalIP and the kubelet port in daemonEndpoints.
func (c *Cluster) registerNode(ctx context.Context) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   c.NodeName(),
			Labels: map[string]string{"kubernetes.io/hostname": c.NodeName(), "kubernetes.io/os": runtime.GOOS},
		},
	}
	created, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = c.Client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("register node: %w", err)
	}
	return c.nodeHeartbeat(ctx, created)
}

// nodeHeartbeat reports the node Ready and renews its lease, as the kubelet
// does, so the node lifecycle controller never taints it.
func (c *Cluster) nodeHeartbeat(ctx context.Context, node *corev1.Node) error {
	if node == nil {
		var err error
		if node, err = c.Client.CoreV1().Nodes().Get(ctx, c.NodeName(), metav1.GetOptions{}); err != nil {
			return err
		}
	}
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node.Status = corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "kubelet emulator is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
		}},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: c.hostIP},
			{Type: corev1.NodeHostName, Address: c.NodeName()},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(c.kubeletPort)}},
		NodeInfo: corev1.NodeSystemInfo{
			OperatingSystem: runtime.GOOS, Architecture: runtime.GOARCH,
			KubeletVersion: "localcluster", ContainerRuntimeVersion: "localcluster://process",
		},
	}
	if _, err := c.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("node status: %w", err)
	}
	return c.renewLease(ctx)
}

func (c *Cluster) renewLease(ctx context.Context) error {
	leases := c.Client.CoordinationV1().Leases(nodeLeaseNamespace)
	now := metav1.NewMicroTime(time.Now())
	lease, err := leases.Get(ctx, c.NodeName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: c.NodeName()},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(c.NodeName()),
				LeaseDurationSeconds: ptr.To(int32(40)),
				RenewTime:            &now,
			},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}
