package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fastPolls shortens the poll and progress intervals for one test.
func fastPolls(t *testing.T) {
	t.Helper()
	p, r := pollInterval, progressInterval
	pollInterval, progressInterval = 10*time.Millisecond, 50*time.Millisecond
	t.Cleanup(func() { pollInterval, progressInterval = p, r })
}

// recorder is a Progress that keeps its lines.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) progress(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func TestPoll(t *testing.T) {
	fastPolls(t)
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "deployments"}, "istiod", errors.New("no"))
	tests := map[string]struct {
		look        func(n int) (bool, string, error)
		timeout     time.Duration
		cancelAfter time.Duration
		wantErr     []string
		wantIs      error
		wantReport  bool
	}{
		"done at once": {
			look: func(int) (bool, string, error) { return true, "", nil },
		},
		"done after a few looks, with transient errors on the way": {
			look: func(n int) (bool, string, error) {
				if n < 3 {
					return false, "", errors.New("connection refused")
				}
				return n >= 5, "not yet", nil
			},
		},
		"a deadline names the object and the last state": {
			look:       func(int) (bool, string, error) { return false, "0/1 replicas available", nil },
			timeout:    200 * time.Millisecond,
			wantErr:    []string{"timed out after", "waiting for deployment ns/istiod: 0/1 replicas available", "context deadline exceeded"},
			wantIs:     context.DeadlineExceeded,
			wantReport: true,
		},
		"a deadline after transient errors reports the last error": {
			look:    func(int) (bool, string, error) { return false, "", errors.New("connection refused") },
			timeout: 100 * time.Millisecond,
			wantErr: []string{"waiting for deployment ns/istiod: last error: connection refused"},
			wantIs:  context.DeadlineExceeded,
		},
		"cancellation ends the wait and says so": {
			look:        func(int) (bool, string, error) { return false, "pending", nil },
			cancelAfter: 50 * time.Millisecond,
			wantErr:     []string{"cancelled after", "deployment ns/istiod: pending"},
			wantIs:      context.Canceled,
		},
		"forbidden ends the wait at once": {
			look:    func(int) (bool, string, error) { return false, "", forbidden },
			timeout: time.Hour,
			wantErr: []string{"waiting for deployment ns/istiod", "forbidden"},
		},
		"a permanent error ends the wait at once": {
			look:    func(int) (bool, string, error) { return false, "", permanent(errors.New("wrong type")) },
			timeout: time.Hour,
			wantErr: []string{"waiting for deployment ns/istiod: wrong type"},
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			if tc.cancelAfter > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(tc.cancelAfter, cancel)
			}
			rec := &recorder{}
			n := 0
			start := time.Now()
			err := poll(ctx, "deployment ns/istiod", rec.progress, func(context.Context) (bool, string, error) {
				n++
				return tc.look(n)
			})
			if time.Since(start) > 5*time.Second {
				t.Fatalf("poll took %s", time.Since(start))
			}
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			lines := rec.all()
			if tc.wantReport {
				if len(lines) == 0 {
					t.Fatal("no progress reported")
				}
				if !strings.HasPrefix(lines[0], "waiting for deployment ns/istiod (") || !strings.HasSuffix(lines[0], "): 0/1 replicas available") {
					t.Errorf("progress line %q", lines[0])
				}
			}
		})
	}
}

func TestPollWithoutProgress(t *testing.T) {
	fastPolls(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	err := poll(ctx, "x", nil, func(context.Context) (bool, string, error) { return false, "", nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestDeploymentReady(t *testing.T) {
	tests := map[string]struct {
		d         appsv1.Deployment
		wantReady bool
		wantState string
	}{
		"one of one updated and available": {
			d:         deployment(1, 1, 1, 1, 1, 1),
			wantReady: true,
		},
		"three of three updated and available": {
			d:         deployment(3, 1, 1, 3, 3, 3),
			wantReady: true,
		},
		"one of three available is not enough": {
			d:         deployment(3, 1, 1, 3, 3, 1),
			wantState: "1 of 3 updated replicas are available",
		},
		"a rollout with the old replica still serving is not done": {
			d:         deployment(1, 2, 2, 2, 1, 1),
			wantState: "1 old replicas are pending termination",
		},
		"none available says how many": {
			d:         deployment(1, 1, 1, 1, 1, 0),
			wantState: "0 of 1 updated replicas are available",
		},
		"a spec the controller has not seen yet is not ready even if available": {
			d:         deployment(1, 2, 1, 1, 1, 1),
			wantState: "deployment spec update to be observed",
		},
		"a replica failure is quoted": {
			d: func() appsv1.Deployment {
				d := deployment(1, 1, 1, 0, 0, 0)
				d.Status.Conditions = []appsv1.DeploymentCondition{
					{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse, Reason: "MinimumReplicasUnavailable"},
					{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: `pods "istiod-x" is forbidden`},
				}
				return d
			}(),
			wantState: `0 out of 1 new replicas have been updated; FailedCreate: pods "istiod-x" is forbidden`,
		},
		"a rollout past its progress deadline is still waited for, and says why": {
			d: func() appsv1.Deployment {
				d := deployment(1, 2, 2, 2, 1, 1)
				d.Status.Conditions = []appsv1.DeploymentCondition{
					{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "istiod-y" has timed out progressing.`},
				}
				return d
			}(),
			wantState: `deployment "istiod" exceeded its progress deadline; ProgressDeadlineExceeded: ReplicaSet "istiod-y" has timed out progressing.`,
		},
		"scaled to zero is done once the old replicas are gone": {
			d:         deployment(0, 2, 2, 0, 0, 0),
			wantReady: true,
		},
		"scaled to zero waits for the old replicas to terminate": {
			d:         deployment(0, 2, 2, 1, 0, 1),
			wantState: "1 old replicas are pending termination",
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			ready, state, err := deploymentReady(&tc.d)
			if err != nil || ready != tc.wantReady || state != tc.wantState {
				t.Fatalf("got %v %q %v, want %v %q", ready, state, err, tc.wantReady, tc.wantState)
			}
		})
	}
}

// deployment is istiod wanting replicas, at generation, with the status the
// deployment controller would report.
func deployment(replicas int32, generation, observed int64, current, updated, available int32) appsv1.Deployment {
	return appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "istiod", Namespace: "istio-system", Generation: generation},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr(replicas)},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: observed, Replicas: current, UpdatedReplicas: updated, AvailableReplicas: available,
		},
	}
}

func TestFirstAddress(t *testing.T) {
	tests := map[string]struct {
		ingress []corev1.LoadBalancerIngress
		want    string
	}{
		"none yet":                    {},
		"an IP":                       {ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}, want: "192.0.2.1"},
		"a hostname":                  {ingress: []corev1.LoadBalancerIngress{{Hostname: "a.elb.example"}}, want: "a.elb.example"},
		"the IP wins over a hostname": {ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.1", Hostname: "a.example"}}, want: "192.0.2.1"},
		"the first entry wins":        {ingress: []corev1.LoadBalancerIngress{{Hostname: "a.example"}, {IP: "192.0.2.2"}}, want: "a.example"},
		"an empty entry is skipped":   {ingress: []corev1.LoadBalancerIngress{{}, {IP: "192.0.2.3"}}, want: "192.0.2.3"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			svc := &corev1.Service{Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: tc.ingress}}}
			if got := firstAddress(svc); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNamespaceState(t *testing.T) {
	ns := &corev1.Namespace{
		Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
		Status: corev1.NamespaceStatus{
			Phase: corev1.NamespaceTerminating,
			Conditions: []corev1.NamespaceCondition{
				{Type: corev1.NamespaceDeletionDiscoveryFailure, Status: corev1.ConditionFalse, Message: "ok"},
				{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue, Message: "Some resources are remaining: pods. has 1 resource instances"},
			},
		},
	}
	want := "phase Terminating, finalizers kubernetes; NamespaceContentRemaining: Some resources are remaining: pods. has 1 resource instances"
	if got := namespaceState(ns); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestPodNotReady(t *testing.T) {
	tests := map[string]struct {
		pod  corev1.Pod
		want string
	}{
		"ready": {pod: corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}},
		"image pull": {pod: corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending,
			ContainerStatuses: []corev1.ContainerStatus{{Name: "discovery", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}}}},
			want: "container discovery ImagePullBackOff"},
		"unschedulable": {pod: corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending,
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}}},
			want: "phase Pending, PodScheduled Unschedulable"},
		"nothing reported": {pod: corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending}}, want: "phase Pending"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			if got := podNotReady(&tc.pod); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
