package ctxbind_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ristio/pulumi-ristio/pkg/ctxbind"
)

// stalling serves a header and then holds the body until the request ends,
// so a test sees whether the outer context reaches it.
func stalling(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

var errWorkflowEnded = errors.New("workflow ended")

func TestRoundTripperEndsRequestsWithTheOuterContext(t *testing.T) {
	srv := stalling(t)
	tests := map[string]struct {
		path string
		// read reads the body, which is where the request stalls.
		read bool
	}{
		"a request that waits for its response": {path: "/"},
		"a body read after RoundTrip returned":  {path: "/body", read: true},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			outer, cancel := context.WithCancelCause(context.Background())
			time.AfterFunc(200*time.Millisecond, func() { cancel(errWorkflowEnded) })
			client := &http.Client{Transport: ctxbind.Transport(outer, http.DefaultTransport)}
			start := time.Now()
			resp, err := client.Get(srv.URL + tc.path) // the request's own context never ends
			if tc.read {
				if err != nil {
					t.Fatal(err)
				}
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if !errors.Is(err, errWorkflowEnded) {
				t.Fatalf("error %v, want the outer context's cause", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s to end", d)
			}
		})
	}
}

func TestRoundTripperFollowsTheCurrentContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	current := ended
	client := &http.Client{Transport: ctxbind.RoundTripper{Next: http.DefaultTransport, Context: func() context.Context { return current }}}
	if _, err := client.Get(srv.URL); !errors.Is(err, context.Canceled) {
		t.Fatalf("request under an ended context: %v", err)
	}
	current = context.Background()
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("request under the next context: %v", err)
	}
	resp.Body.Close()
}

func TestCallInTurn(t *testing.T) {
	var turn ctxbind.Turn
	var mu sync.Mutex
	var events []string
	note := func(e string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}

	// The first caller leaves while its work goes on, holding the turn.
	left, leave := context.WithCancel(context.Background())
	release := make(chan struct{})
	_, err := ctxbind.CallInTurn(left, &turn, func() (int, error) {
		leave()
		<-release
		note("first work ended")
		return 1, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CallInTurn() of work whose caller left = %v; want the context's error", err)
	}
	note("first caller returned")

	// A caller whose context ends while it waits gets its context's error
	// and its work never runs.
	waiting, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := ctxbind.CallInTurn(waiting, &turn, func() (int, error) { note("waiting work ran"); return 2, nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CallInTurn() while the turn is held = %v; want the context's error", err)
	}
	// An ended context takes no turn, free or not.
	if _, err := ctxbind.CallInTurn(left, &turn, func() (int, error) { note("ended work ran"); return 3, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("CallInTurn() under an ended context = %v", err)
	}

	// Once the first work has returned, the next takes the turn.
	close(release)
	got, err := ctxbind.CallInTurn(context.Background(), &turn, func() (int, error) { note("next work began"); return 4, nil })
	if got != 4 || err != nil {
		t.Fatalf("CallInTurn() after the first work ended = %d, %v", got, err)
	}
	if _, err := ctxbind.CallInTurn(left, &turn, func() (int, error) { note("ended work ran"); return 5, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("CallInTurn() under an ended context with the turn free = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"first caller returned", "first work ended", "next work began"}; !slices.Equal(events, want) {
		t.Errorf("events %q, want %q", events, want)
	}
}
