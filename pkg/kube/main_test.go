package kube_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
)

// One local cluster serves every test of the package: starting one costs
// far more than any test here.
var (
	worldOnce sync.Once
	world     *localcluster.World
	worldErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if world != nil {
		if err := world.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop local clusters: %v\n", err)
		}
	}
	os.Exit(code)
}

// cluster starts the shared world on first use and returns its cluster
// and a kube.Client for it built from the world's kubeconfig.
func cluster(t *testing.T) (*localcluster.Cluster, *kube.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a local cluster: run make test")
	}
	worldOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		start := time.Now()
		world, worldErr = localcluster.Start(ctx, localcluster.Options{N: 1, Logf: func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "localcluster: "+format+"\n", args...)
		}})
		fmt.Fprintf(os.Stderr, "local cluster started in %s\n", time.Since(start).Round(time.Millisecond))
	})
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	c := world.Clusters[0]
	client, err := kube.New(kubeconfig.Source{File: world.Kubeconfig, Context: c.Name})
	if err != nil {
		t.Fatal(err)
	}
	return c, client
}

// namespace makes a fresh namespace for one test, deleted afterwards.
func namespace(t *testing.T, c *localcluster.Cluster) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 50 {
		name = name[:50]
	}
	name = strings.TrimRight(name, "-") + fmt.Sprintf("-%d", time.Now().UnixNano()%100000)
	ctx := context.Background()
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

func timeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// recorder is a kube.Progress that keeps its lines.
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

var _ kube.Progress = (&recorder{}).progress

func mustContain(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}
