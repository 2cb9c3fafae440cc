package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// program is a container image this world can run as a real process, and
// how: which binary, and which flag moves each container port to a free
// loopback port (all pods share the machine's network).
type program struct {
	binary    string
	portFlags map[int32]string
	// extraFlags are appended after the container's own arguments.
	extraFlags func(ports map[int32]int) ([]string, error)
}

// pilot is Istio's istiod image (hub/pilot:tag): the pilot-discovery binary
// built by `make tools` from the pinned istio.io/istio module.
var pilot = program{
	binary: "pilot-discovery",
	portFlags: map[int32]string{
		8080:  "--httpAddr",
		15010: "--grpcAddr",
		15012: "--secureGRPCAddr",
		15014: "--monitoringAddr",
		15017: "--httpsAddr",
	},
	extraFlags: func(map[int32]int) ([]string, error) {
		ctrlz, err := freePort()
		if err != nil {
			return nil, err
		}
		return []string{"--ctrlz_address=127.0.0.1", "--ctrlz_port=" + strconv.Itoa(ctrlz)}, nil
	},
}

// programFor returns the program a pod runs for real and its container, or
// nil for pods the kubelet emulator only marks running.
func programFor(pod *corev1.Pod) (*program, *corev1.Container) {
	for i := range pod.Spec.Containers {
		ctr := &pod.Spec.Containers[i]
		repo := ctr.Image
		if at := strings.IndexByte(repo, '@'); at >= 0 {
			repo = repo[:at]
		}
		if colon := strings.LastIndexByte(repo, ':'); colon > strings.LastIndexByte(repo, '/') {
			repo = repo[:colon]
		}
		if path.Base(repo) == "pilot" {
			return &pilot, ctr
		}
	}
	return nil, nil
}

// realPod is one pod whose container runs as a process on this machine.
type realPod struct {
	namespace, name, container string
	uid                        types.UID
	root                       string            // the container's root filesystem: its working directory
	ports                      map[int32]int     // container port → the port the process listens on
	probe                      *corev1.Probe     // readiness probe, from the container spec
	proc                       *process          // nil between a crash and the restart
	startedAt                  metav1.Time       // of the current process
	restarts                   int32             // process exits so far
	crashedAt                  time.Time         // last exit, for the restart back-off
	ready                      bool              // last readiness probe result
	reported                   *corev1.PodStatus // last status written, to skip needless writes
	volumes                    volumeState
}

func (p *realPod) key() string     { return p.namespace + "/" + p.name }
func (p *realPod) logPath() string { return filepath.Join(p.root, "..log") }

// runningPod finds a real pod by namespace and name, for the kubelet API.
func (c *Cluster) runningPod(namespace, name string) *realPod {
	c.podsMu.Lock()
	defer c.podsMu.Unlock()
	for _, p := range c.pods {
		if p.namespace == namespace && p.name == name {
			return p
		}
	}
	return nil
}

// syncRealPods runs one pass of the kubelet's pod loop for pods that run for
// real: bind, prepare volumes, start, restart after a crash, probe, report
// status, keep secret volumes in sync, and stop and release pods being
// deleted.
func (c *Cluster) syncRealPods(ctx context.Context) error {
	list, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return err
	}
	var errs []error
	seen := map[types.UID]bool{}
	for i := range list.Items {
		pod := &list.Items[i]
		prog, ctr := programFor(pod)
		if prog == nil {
			continue
		}
		seen[pod.UID] = true
		if pod.DeletionTimestamp != nil {
			c.stopPod(pod.UID)
			errs = append(errs, c.releasePod(ctx, pod))
			continue
		}
		if err := c.syncRealPod(ctx, pod, prog, ctr); err != nil {
			errs = append(errs, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err))
		}
	}
	c.podsMu.Lock()
	var gone []types.UID
	for uid := range c.pods {
		if !seen[uid] {
			gone = append(gone, uid)
		}
	}
	c.podsMu.Unlock()
	for _, uid := range gone {
		c.stopPod(uid)
	}
	return errors.Join(errs...)
}

func (c *Cluster) syncRealPod(ctx context.Context, pod *corev1.Pod, prog *program, ctr *corev1.Container) error {
	if pod.Spec.NodeName == "" {
		return c.bindPod(ctx, pod) // the next pass sees the bound pod
	}
	c.podsMu.Lock()
	p := c.pods[pod.UID]
	c.podsMu.Unlock()
	if p == nil {
		var err error
		if p, err = c.newRealPod(pod, prog, ctr); err != nil {
			return err
		}
		c.podsMu.Lock()
		c.pods[pod.UID] = p
		c.podsMu.Unlock()
	}
	// Volumes first: a missing required secret keeps the container from
	// starting, and a changed one reaches the running process as the kubelet's
	// refresh of secret volumes does.
	if err := c.syncVolumes(ctx, pod, ctr, p); err != nil {
		return err
	}
	if p.proc != nil && p.proc.exited() {
		c.logf("%s: pod %s exited (%v); last log lines:\n%s", c.Name, p.key(), p.proc.err, p.proc.logTail(15))
		p.proc, p.ready, p.crashedAt = nil, false, time.Now()
		p.restarts++
	}
	// ctx ends when the kubelet stops, which also stops every pod: starting
	// one then would leave a process nobody tracks.
	if p.proc == nil && ctx.Err() == nil && time.Since(p.crashedAt) >= restartBackoff(p.restarts) {
		if err := c.startContainer(ctx, pod, prog, ctr, p); err != nil {
			return err
		}
	}
	if p.proc != nil {
		p.ready = p.probeReady(ctx)
	}
	return c.reportStatus(ctx, pod, p)
}

// restartBackoff grows like the kubelet's crash-loop back-off, capped low so
// tests see a recovery quickly.
func restartBackoff(restarts int32) time.Duration {
	if restarts == 0 {
		return 0
	}
	return min(time.Duration(restarts)*time.Second, 10*time.Second)
}

func (c *Cluster) newRealPod(pod *corev1.Pod, prog *program, ctr *corev1.Container) (*realPod, error) {
	root := filepath.Join(c.dir, "pods", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	p := &realPod{
		namespace: pod.Namespace, name: pod.Name, container: ctr.Name, uid: pod.UID,
		root: root, ports: map[int32]int{}, probe: ctr.ReadinessProbe,
	}
	for _, cp := range ctr.Ports {
		if _, ok := prog.portFlags[cp.ContainerPort]; !ok {
			continue
		}
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		p.ports[cp.ContainerPort] = port
	}
	return p, nil
}

// startContainer runs the program in the pod's root with the container's
// environment, authenticated as the pod's service account.
func (c *Cluster) startContainer(ctx context.Context, pod *corev1.Pod, prog *program, ctr *corev1.Container, p *realPod) error {
	kubeconfig, err := c.serviceAccountKubeconfig(ctx, pod, p.root)
	if err != nil {
		return err
	}
	env, err := c.containerEnv(ctx, pod, ctr)
	if err != nil {
		return err
	}
	env["KUBECONFIG"] = kubeconfig
	args := expandAll(append(append([]string{}, ctr.Command[min(1, len(ctr.Command)):]...), ctr.Args...), env)
	for port, flag := range prog.portFlags {
		if local, ok := p.ports[port]; ok {
			args = append(args, flag+"=127.0.0.1:"+strconv.Itoa(local))
		}
	}
	extra, err := prog.extraFlags(p.ports)
	if err != nil {
		return err
	}
	args = append(args, extra...)
	args = append(args, "--kubeconfig="+kubeconfig)

	cmd := exec.Command(filepath.Join(c.binDir, prog.binary), args...)
	cmd.Dir = p.root
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	proc, err := startProcess(p.key(), cmd, p.logPath())
	if err != nil {
		return err
	}
	p.proc, p.startedAt = proc, metav1.Now()
	return nil
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as the
// pod's service account with a pod-bound TokenRequest token: the process gets
// exactly the RBAC its chart grants, as in a real cluster.
func (c *Cluster) serviceAccountKubeconfig(ctx context.Context, pod *corev1.Pod, root string) (string, error) {
	token, err := c.podToken(ctx, pod, "", 24*3600)
	if err != nil {
		return "", err
	}
	path := filepath.Join(root, "..kubeconfig")
	cfg := &rest.Config{Host: c.Server, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: c.CAPEM}}
	return path, writeKubeconfig(path, map[string]*rest.Config{c.Name: cfg})
}

// podToken issues a TokenRequest token for the pod's service account, bound
// to the pod (it stops working once the pod is gone), for audience (the API
// server's when empty).
func (c *Cluster) podToken(ctx context.Context, pod *corev1.Pod, audience string, seconds int64) (string, error) {
	spec := authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(seconds),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}
	if audience != "" {
		spec.Audiences = []string{audience}
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr, err := c.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for service account %s/%s: %w", pod.Namespace, sa, err)
	}
	return tr.Status.Token, nil
}

// probeReady runs the container's HTTP readiness probe against the port the
// process really listens on.
func (p *realPod) probeReady(ctx context.Context) bool {
	if p.probe == nil || p.probe.HTTPGet == nil {
		return true
	}
	get := p.probe.HTTPGet
	local, ok := p.ports[int32(get.Port.IntValue())]
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(local)) + get.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// reportStatus writes the pod's status when it differs from what was last
// written: Running once the process started, Ready only while the probe
// passes.
func (c *Cluster) reportStatus(ctx context.Context, pod *corev1.Pod, p *realPod) error {
	now := metav1.Now()
	s := pod.Status
	s.Phase = corev1.PodPending
	if p.proc != nil {
		s.Phase = corev1.PodRunning
	}
	if s.PodIP == "" {
		s.PodIP = c.nextPodIP()
		s.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	}
	s.HostIP = c.hostIP
	s.HostIPs = []corev1.HostIP{{IP: c.hostIP}}
	if s.StartTime == nil {
		s.StartTime = &now
	}
	cond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		st := corev1.ConditionFalse
		if ok {
			st = corev1.ConditionTrue
		}
		for _, old := range pod.Status.Conditions {
			if old.Type == t && old.Status == st {
				return old
			}
		}
		return corev1.PodCondition{Type: t, Status: st, LastTransitionTime: now}
	}
	s.Conditions = []corev1.PodCondition{
		cond(corev1.PodScheduled, true), cond(corev1.PodReadyToStartContainers, true), cond(corev1.PodInitialized, true),
		cond(corev1.ContainersReady, p.ready), cond(corev1.PodReady, p.ready),
	}
	var state corev1.ContainerState
	if p.proc != nil {
		state.Running = &corev1.ContainerStateRunning{StartedAt: p.startedAt}
	} else {
		state.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
	}
	s.ContainerStatuses = []corev1.ContainerStatus{{
		Name: p.container, Image: pod.Spec.Containers[0].Image, ImageID: pod.Spec.Containers[0].Image,
		State: state, Ready: p.ready, Started: ptr.To(p.proc != nil), RestartCount: p.restarts,
		ContainerID: "process://" + strconv.Itoa(p.pid()),
	}}
	for _, ctr := range pod.Spec.Containers {
		if ctr.Name == p.container {
			s.ContainerStatuses[0].Image, s.ContainerStatuses[0].ImageID = ctr.Image, ctr.Image
		}
	}
	if p.reported != nil && sameStatus(p.reported, &s) {
		return nil
	}
	pod = pod.DeepCopy()
	pod.Status = s
	if _, err := c.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return nil // the next pass sees the fresh pod
		}
		return err
	}
	p.reported = &s
	return nil
}

func (p *realPod) pid() int {
	if p.proc == nil {
		return 0
	}
	return p.proc.pid()
}

func sameStatus(a, b *corev1.PodStatus) bool {
	if a.Phase != b.Phase || len(a.ContainerStatuses) != len(b.ContainerStatuses) {
		return false
	}
	x, y := a.ContainerStatuses[0], b.ContainerStatuses[0]
	return x.Ready == y.Ready && x.RestartCount == y.RestartCount && x.ContainerID == y.ContainerID
}

// stopPod kills the pod's process and removes its files.
func (c *Cluster) stopPod(uid types.UID) {
	c.podsMu.Lock()
	p := c.pods[uid]
	delete(c.pods, uid)
	c.podsMu.Unlock()
	if p == nil {
		return
	}
	if p.proc != nil {
		p.proc.kill()
	}
	_ = os.RemoveAll(p.root)
}

// stopAllPods ends every real pod's process, when the kubelet or the world stops.
func (c *Cluster) stopAllPods() {
	c.podsMu.Lock()
	var uids []types.UID
	for uid := range c.pods {
		uids = append(uids, uid)
	}
	c.podsMu.Unlock()
	for _, uid := range uids {
		c.stopPod(uid)
	}
}

// bindPod schedules pod on the cluster's node, as the scheduler would.
func (c *Cluster) bindPod(ctx context.Context, pod *corev1.Pod) error {
	err := c.Client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: c.NodeName()},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		return fmt.Errorf("bind to %s: %w", c.NodeName(), err)
	}
	return nil
}

// releasePod confirms a bound pod's deletion once its process is gone, as
// the kubelet does; until then the API server keeps it Terminating.
func (c *Cluster) releasePod(ctx context.Context, pod *corev1.Pod) error {
	if pod.Spec.NodeName != c.NodeName() {
		return nil
	}
	err := c.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
