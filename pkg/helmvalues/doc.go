// Package helmvalues builds the Helm values for Istio's base, istiod and gateway
// charts, following Istio's "Install Multi-Primary on different networks" guide
// (Helm variant), and for the istiod, cni and ztunnel charts of an ambient
// mesh (ambient.go, after the guide's ambient variant).
//
// Everything here is pure: the same options give equal values, every list is
// sorted where order is not meaningful, and no function keeps or mutates its
// inputs. Values use only map[string]any, []any, strings, ints and bools, the
// shapes Helm itself produces from YAML.
package helmvalues
