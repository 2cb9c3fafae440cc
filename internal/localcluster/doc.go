// Package localcluster is the test world: N real Kubernetes control planes
// (etcd, kube-apiserver, kube-controller-manager) on 127.0.0.1, each with its
// own CA, plus emulators for what a real cluster would get from a kubelet and a
// cloud load balancer. The binaries come from `make tools`.
//
// Production code never imports this package.
package localcluster
