// Package sample builds Istio's multicluster verification sample: the
// helloworld Service, one helloworld Deployment per cluster, and curl.
package sample

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

const (
	// HelloWorld is the Service every cluster shares.
	HelloWorld = "helloworld"
	// Curl is the client workload.
	Curl = "curl"
	// HelloWorldPort is the helloworld Service port.
	HelloWorldPort = 5000
)

// VersionFor returns v1 for the 1st, 3rd, … cluster and v2 for the others, so
// responses show which cluster answered.
func VersionFor(index int) string {
	if index%2 == 0 {
		return "v1"
	}
	return "v2"
}

// ValidVersion says whether a helloworld image exists for version.
func ValidVersion(version string) bool { return version == "v1" || version == "v2" }

// NamespaceLabels enable sidecar injection, by revision when one is given.
func NamespaceLabels(revision string) map[string]string {
	if revision != "" {
		return map[string]string{naming.RevisionLabel: revision}
	}
	return map[string]string{"istio-injection": "enabled"}
}

// DeploymentNames lists the Deployments Objects creates.
func DeploymentNames(version string) []string {
	return []string{HelloWorld + "-" + version, Curl}
}

// Objects returns the sample's objects in the order they should be applied.
func Objects(namespace, version string) []*unstructured.Unstructured {
	return []*unstructured.Unstructured{
		service(namespace, HelloWorld, "http", HelloWorldPort),
		deployment(namespace, HelloWorld+"-"+version, map[string]any{"app": HelloWorld, "version": version}, map[string]any{
			"name":            HelloWorld,
			"image":           fmt.Sprintf("docker.io/istio/examples-helloworld-%s:1.0", version),
			"imagePullPolicy": "IfNotPresent",
			"ports":           []any{map[string]any{"containerPort": int64(HelloWorldPort)}},
			"resources":       map[string]any{"requests": map[string]any{"cpu": "100m"}},
		}, ""),
		serviceAccount(namespace, Curl),
		service(namespace, Curl, "http", 80),
		deployment(namespace, Curl, map[string]any{"app": Curl}, map[string]any{
			"name":            Curl,
			"image":           "curlimages/curl",
			"imagePullPolicy": "IfNotPresent",
			"command":         []any{"/bin/sleep", "infinity"},
		}, Curl),
	}
}

func meta(namespace, name string, labels map[string]any) map[string]any {
	all := map[string]any{naming.ManagedByLabel: naming.ManagedByValue}
	for k, v := range labels {
		all[k] = v
	}
	return map[string]any{"name": name, "namespace": namespace, "labels": all}
}

func service(namespace, app, portName string, port int64) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Service",
		"metadata":   meta(namespace, app, map[string]any{"app": app, "service": app}),
		"spec": map[string]any{
			"selector": map[string]any{"app": app},
			"ports":    []any{map[string]any{"name": portName, "port": port, "targetPort": port}},
		},
	}}
}

func serviceAccount(namespace, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "ServiceAccount",
		"metadata":   meta(namespace, name, nil),
	}}
}

func deployment(namespace, name string, podLabels, container map[string]any, serviceAccount string) *unstructured.Unstructured {
	podSpec := map[string]any{"containers": []any{container}}
	if serviceAccount != "" {
		podSpec["serviceAccountName"] = serviceAccount
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   meta(namespace, name, podLabels),
		"spec": map[string]any{
			"replicas": int64(1),
			"selector": map[string]any{"matchLabels": podLabels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": podLabels},
				"spec":     podSpec,
			},
		},
	}}
}

// GlobalLabel makes a service global in an ambient mesh: only services
// labelled GlobalLabel=true are offered to other clusters' ztunnels.
const GlobalLabel = "istio.io/global"

// DataplaneModeLabel puts a namespace's pods in the ambient mesh.
const DataplaneModeLabel = "istio.io/dataplane-mode"

// AmbientNamespaceLabels put the sample's namespace in an ambient mesh,
// served by revision's istiod when one is given.
func AmbientNamespaceLabels(revision string) map[string]string {
	labels := map[string]string{DataplaneModeLabel: "ambient"}
	if revision != "" {
		labels[naming.RevisionLabel] = revision
	}
	return labels
}

// MarkGlobal labels every Service of objs GlobalLabel=true, in place.
func MarkGlobal(objs []*unstructured.Unstructured) {
	for _, o := range objs {
		if o.GetKind() != "Service" {
			continue
		}
		labels := o.GetLabels()
		labels[GlobalLabel] = "true"
		o.SetLabels(labels)
	}
}
