package provider

import (
	"errors"
	"fmt"
	"testing"
)

func TestWrapClusterNamesTheClusterOnce(t *testing.T) {
	base := errors.New("connection refused")
	once := wrapCluster("cluster1", base)
	if got := once.Error(); got != "cluster cluster1: connection refused" {
		t.Errorf("wrapped once: %q", got)
	}
	if got := wrapCluster("cluster1", once); got != once {
		t.Errorf("wrapped twice: %q, want the first wrap", got)
	}
	// Wrapped on its way up, it still names the cluster once.
	up := fmt.Errorf("deleting its remote secrets: %w", once)
	if got := wrapCluster("cluster1", up).Error(); got != "deleting its remote secrets: cluster cluster1: connection refused" {
		t.Errorf("wrapped after a wrap on the way up: %q", got)
	}
	var ce *clusterError
	if !errors.As(up, &ce) || ce.cluster != "cluster1" || !errors.Is(up, base) {
		t.Errorf("errors.As/Is do not find the cluster and the cause in %v", up)
	}
	// Another cluster's error inside this one's is named by both.
	if got := wrapCluster("cluster2", once).Error(); got != "cluster cluster2: cluster cluster1: connection refused" {
		t.Errorf("another cluster's error: %q", got)
	}
	if wrapCluster("cluster1", nil) != nil {
		t.Error("a nil error wrapped is not nil")
	}
}
