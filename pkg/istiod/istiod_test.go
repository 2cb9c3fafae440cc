package istiod

import (
	"strings"
	"testing"
)

// Lines as istiod wrote them when a remote secret held a broken kubeconfig.
var brokenSecretLog = strings.Split(strings.Join([]string{
	"2026-12-02T03:28:15.907582Z\tinfo\tAdd cluster\tcluster=cluster2 config=istio-system/istio-remote-secret-cluster2",
	"2026-12-02T03:28:15.907695Z\terror\tAdd cluster: create remote cluster failed: kubeconfig cannot be loaded: yaml: line 3: did not find expected ',' or ']'\tcluster=cluster2 config=istio-system/istio-remote-secret-cluster2",
	"2026-12-02T03:28:15.907707Z\tinfo\tNumber of remote clusters: 0",
	"2026-12-02T03:28:15.907764Z\terror\tcontrollers\terror handling istio-system/istio-remote-secret-cluster2, and retry budget exceeded: error adding remote config istio-system/istio-remote-secret-cluster2: 1 error occurred:",
	"2026-12-02T03:28:20.000000Z\terror\tremote cluster cluster3 failed to sync after 30s",
	"2026-12-02T03:28:21.000000Z\terror\tcontrollers\terror handling istiod-default-validator, retrying (retry count: 8): webhook is not ready, retry\tcontroller=validation",
}, "\n"), "\n")

func TestLastSaid(t *testing.T) {
	got := lastSaid(brokenSecretLog, "cluster2")
	if !strings.HasPrefix(got, "Add cluster: create remote cluster failed: kubeconfig cannot be loaded") {
		t.Errorf("about cluster2: %q, want istiod's own failure to build the client", got)
	}
	if !strings.Contains(got, "config=istio-system/istio-remote-secret-cluster2") {
		t.Errorf("about cluster2: %q lost its labels to masking", got)
	}
	if strings.Contains(got, "\t") || strings.Contains(got, "2026-12-02") {
		t.Errorf("about cluster2: %q still carries the timestamp or tabs", got)
	}
	if got := lastSaid(brokenSecretLog, "cluster3"); got != "remote cluster cluster3 failed to sync after 30s" {
		t.Errorf("about cluster3: %q", got)
	}
	if got := lastSaid(brokenSecretLog, "cluster4"); got != "" {
		t.Errorf("about a cluster istiod never mentioned: %q", got)
	}
}

// A parse error that echoes a value must not carry a token into state.
func TestLastSaidMasksSecrets(t *testing.T) {
	token := "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlc2lnbmF0dXJl"
	line := "2026-12-02T03:28:15.907695Z\terror\tAdd cluster: create remote cluster failed: cannot unmarshal !!str `" + token + "` into api.Config\tcluster=cluster2"
	got := lastSaid([]string{line}, "cluster2")
	if strings.Contains(got, "eyJ") || strings.Contains(got, "c2lnbmF0dXJl") || !strings.Contains(got, "[redacted]") {
		t.Fatalf("quoted %q", got)
	}
}
