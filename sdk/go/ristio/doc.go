// Multi-primary, multi-network Istio meshes across Kubernetes clusters, in one Pulumi component.
package ristio
