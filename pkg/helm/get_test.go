package helm

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func TestGetWithAnEndedContextReadsNothing(t *testing.T) {
	f := newFixture(t)
	if _, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, err := f.Get(ctx, "demo")
	if got != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("Get() = %+v, %v; want the context's error", got, err)
	}
	if got, err := f.Get(context.Background(), "demo"); err != nil || got == nil || got.Status != "deployed" {
		t.Fatalf("Get() = %+v, %v", got, err)
	}
}

// An API server that never answers holds Get only until its context
// ends, not for the two-minute request timeout.
func TestGetEndsWithItsContext(t *testing.T) {
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(stalled.Close)
	cc := clientcmd.NewDefaultClientConfig(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"stalled": {Server: stalled.URL}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"stalled": {}},
		Contexts:       map[string]*clientcmdapi.Context{"stalled": {Cluster: "stalled", AuthInfo: "stalled"}},
		CurrentContext: "stalled",
	}, &clientcmd.ConfigOverrides{})
	c, err := New(cc, "istio-system", nil)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Get(ctx, "istiod")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get() error = %v, want the context's", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Get() returned after %s", d)
	}
}
