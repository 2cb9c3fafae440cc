package sample

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestVersionFor(t *testing.T) {
	for index, want := range []string{"v1", "v2", "v1", "v2"} {
		if got := VersionFor(index); got != want {
			t.Errorf("VersionFor(%d) = %s, want %s", index, got, want)
		}
	}
}

func TestObjects(t *testing.T) {
	objs := Objects("sample", "v2")
	byKey := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		if o.GetNamespace() != "sample" {
			t.Errorf("%s/%s in namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
		}
		if o.GetLabels()["app.kubernetes.io/managed-by"] != "ristio" {
			t.Errorf("%s/%s lacks the managed-by label", o.GetKind(), o.GetName())
		}
		byKey[o.GetKind()+"/"+o.GetName()] = o
	}
	for _, key := range []string{"Service/helloworld", "Deployment/helloworld-v2", "Service/curl", "Deployment/curl", "ServiceAccount/curl"} {
		if byKey[key] == nil {
			t.Fatalf("missing %s; have %v", key, keys(byKey))
		}
	}
	ports, _, _ := unstructured.NestedSlice(byKey["Service/helloworld"].Object, "spec", "ports")
	if port := ports[0].(map[string]any)["port"]; port != int64(5000) {
		t.Errorf("helloworld port = %v, want 5000", port)
	}
	version, _, _ := unstructured.NestedString(byKey["Deployment/helloworld-v2"].Object, "spec", "template", "metadata", "labels", "version")
	if version != "v2" {
		t.Errorf("pod version label = %q", version)
	}
}

func TestNamespaceLabels(t *testing.T) {
	if got := NamespaceLabels(""); got["istio-injection"] != "enabled" || len(got) != 1 {
		t.Errorf("no revision: %v", got)
	}
	if got := NamespaceLabels("canary"); got["istio.io/rev"] != "canary" || len(got) != 1 {
		t.Errorf("revision: %v", got)
	}
}

func keys(m map[string]*unstructured.Unstructured) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
