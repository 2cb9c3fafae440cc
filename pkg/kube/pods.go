package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RunningPods lists the pods in ns matching selector that are running and
// not being deleted.
func (c *Client) RunningPods(ctx context.Context, ns, selector string) ([]corev1.Pod, error) {
	list, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector, FieldSelector: "status.phase=Running"})
	if err != nil {
		return nil, fmt.Errorf("listing pods %s in %s: %w", selector, ns, err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// PodLogTail returns the last lines a pod's container wrote.
func (c *Client) PodLogTail(ctx context.Context, ns, pod, container string, lines int64) (string, error) {
	data, err := c.kube.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &lines}).DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("logs of pod %s: %w", ref(ns, pod), err)
	}
	return string(data), nil
}
