package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RunKubelet runs the kubelet emulator on every cluster; see Cluster.RunKubelet.
func (w *World) RunKubelet(ctx context.Context) {
	for _, c := range w.Clusters {
		c.RunKubelet(ctx)
	}
}

// RunKubelet plays the kubelet, in the background until ctx ends or the
// world stops:
//   - pods whose image this world can run (istiod: see podrunner.go) are
//     bound to the cluster's node and run as real processes, Ready only when
//     their readiness probe passes; the node's kubelet API serves
//     port-forward and logs for them;
//   - every other pod is bound to the node and reported running and ready at
//     once, so the real controllers see Deployments become available and
//     the EndpointSlice controller lists the pod (it skips pods on no node):
//     istiod discovers a sample's endpoints as in a real cluster. A bound
//     pod being deleted is released at once, as a kubelet does once its
//     containers stop.
func (c *Cluster) RunKubelet(ctx context.Context) {
	c.runsPods.Store(true)
	var nodeUp bool
	c.every(ctx, "kubelet", emulatorInterval, func(ctx context.Context) error {
		if !nodeUp {
			if err := c.startNode(ctx); err != nil {
				return err
			}
			nodeUp = true
		}
		return errors.Join(c.syncRealPods(ctx), c.markPodsRunning(ctx, "", metav1.ListOptions{}))
	})
	c.every(ctx, "node heartbeat", nodeHeartbeat, func(ctx context.Context) error {
		if !c.nodeRegistered.Load() {
			return nil
		}
		return c.nodeHeartbeat(ctx, nil)
	})
	context.AfterFunc(ctx, c.stopAllPods)
}

// MakeDeploymentAvailable marks the pods of one Deployment running until the
// Deployment reports every replica available, for tests that do not run the
// kubelet emulator.
func (c *Cluster) MakeDeploymentAvailable(ctx context.Context, ns, name string) error {
	start := time.Now()
	for {
		d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			if deploymentAvailable(d) {
				return nil
			}
			var selector string
			if selector, err = selectorString(d.Spec.Selector); err == nil {
				err = c.markPodsRunning(ctx, ns, metav1.ListOptions{LabelSelector: selector})
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for deployment %s/%s to become available (%s): %w; last error: %v",
				c.Name, ns, name, time.Since(start).Round(time.Second), ctx.Err(), err)
		case <-time.After(emulatorInterval):
		}
	}
}

func selectorString(s *metav1.LabelSelector) (string, error) {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return "", err
	}
	return sel.String(), nil
}

func deploymentAvailable(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.Replicas == want &&
		s.UpdatedReplicas == want && s.AvailableReplicas == want
}

// markPodsRunning updates the status of every listed pod that is not yet
// running and ready. The list comes from the watch cache: a stale pod only
// causes a conflict, and conflicts and vanished pods are normal churn that the
// next call sees fresh.
func (c *Cluster) markPodsRunning(ctx context.Context, ns string, opts metav1.ListOptions) error {
	opts.ResourceVersion = "0"
	list, err := c.Client.CoreV1().Pods(ns).List(ctx, opts)
	if err != nil {
		return err
	}
	var errs []error
	kubelet := c.runsPods.Load()
	for i := range list.Items {
		pod := &list.Items[i]
		if prog, _ := programFor(pod); prog != nil && kubelet {
			continue // the kubelet emulator runs it for real
		}
		if pod.DeletionTimestamp != nil {
			if kubelet {
				errs = append(errs, c.releasePod(ctx, pod))
			}
			continue
		}
		if podReady(pod) {
			continue
		}
		if kubelet && pod.Spec.NodeName == "" {
			if err := c.bindPod(ctx, pod); err != nil {
				errs = append(errs, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err))
			}
			continue // the next pass sees the bound pod
		}
		pod.Status = c.runningStatus(pod, metav1.Now())
		_, err := c.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err))
		}
	}
	return errors.Join(errs...)
}

func podReady(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// runningStatus is what a kubelet reports once every container has started
// and passed its probes.
func (c *Cluster) runningStatus(pod *corev1.Pod, now metav1.Time) corev1.PodStatus {
	s := pod.Status // keeps what the API server set, such as qosClass
	if s.PodIP == "" {
		s.PodIP = c.nextPodIP()
		s.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	}
	s.Phase = corev1.PodRunning
	s.HostIP = "127.0.0.1"
	s.HostIPs = []corev1.HostIP{{IP: s.HostIP}}
	if s.StartTime == nil {
		s.StartTime = &now
	}
	s.Conditions = nil
	for _, t := range []corev1.PodConditionType{
		corev1.PodScheduled, corev1.PodReadyToStartContainers, corev1.PodInitialized,
		corev1.ContainersReady, corev1.PodReady,
	} {
		s.Conditions = append(s.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
	completed := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", StartedAt: now, FinishedAt: now}}
	s.InitContainerStatuses = nil
	for _, ctr := range pod.Spec.InitContainers {
		// A sidecar (an init container that restarts always) keeps running.
		sidecar := ctr.RestartPolicy != nil && *ctr.RestartPolicy == corev1.ContainerRestartPolicyAlways
		state := completed
		if sidecar {
			state = running
		}
		s.InitContainerStatuses = append(s.InitContainerStatuses, containerStatus(ctr, state, sidecar))
	}
	s.ContainerStatuses = nil
	for _, ctr := range pod.Spec.Containers {
		s.ContainerStatuses = append(s.ContainerStatuses, containerStatus(ctr, running, true))
	}
	return s
}

func containerStatus(ctr corev1.Container, state corev1.ContainerState, running bool) corev1.ContainerStatus {
	return corev1.ContainerStatus{
		Name:    ctr.Name,
		Image:   ctr.Image,
		ImageID: ctr.Image,
		State:   state,
		Ready:   running,
		Started: &running,
	}
}

// nextPodIP hands out 10.244.0.1, 10.244.0.2, … per cluster, like a node's pod CIDR.
func (c *Cluster) nextPodIP() string {
	n := c.podIPs.Add(1)
	return netip.AddrFrom4([4]byte{10, 244, byte(n >> 8), byte(n)}).String()
}
