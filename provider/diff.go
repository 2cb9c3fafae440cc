package provider

import (
	"reflect"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
)

// replacePolicy says whether a change to the named input replaces the resource.
type replacePolicy func(field string) bool

func replaceOn(fields ...string) replacePolicy {
	return func(f string) bool {
		for _, r := range fields {
			if f == r || strings.HasPrefix(f, r+".") {
				return true
			}
		}
		return false
	}
}

// diffInputs compares two input structs field by field, by their pulumi
// names: embedded structs are flattened and nested objects are compared
// property by property ("cluster.name"), so that a replace policy can single
// out one property of an object.
func diffInputs(old, new any, replace replacePolicy) map[string]p.PropertyDiff {
	diff := map[string]p.PropertyDiff{}
	diffFields(diff, "", reflect.ValueOf(old), reflect.ValueOf(new), replace)
	return diff
}

func diffFields(diff map[string]p.PropertyDiff, prefix string, old, new reflect.Value, replace replacePolicy) {
	ov, nv := fieldsByName(old), fieldsByName(new)
	for name, n := range nv {
		o, path := ov[name], prefix+name
		if isObject(o) && isObject(n) {
			diffFields(diff, path+".", o, n, replace)
			continue
		}
		if reflect.DeepEqual(normalize(o), normalize(n)) {
			continue
		}
		kind := p.Update
		if replace(path) {
			kind = p.UpdateReplace
		}
		diff[path] = p.PropertyDiff{Kind: kind, InputDiff: true}
	}
}

// isObject says whether v is a struct (or a non-nil pointer to one): a
// Pulumi object type whose properties are diffed one by one.
func isObject(v reflect.Value) bool {
	for v.IsValid() && v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	return v.IsValid() && v.Kind() == reflect.Struct
}

func diffResponse(diff map[string]p.PropertyDiff) p.DiffResponse {
	return p.DiffResponse{HasChanges: len(diff) > 0, DetailedDiff: diff}
}

// normalize treats a nil pointer, map or slice like its empty value, so that
// an omitted optional input equals one given empty.
func normalize(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return normalize(v.Elem())
	case reflect.Map, reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
	}
	if v.IsZero() {
		return nil
	}
	return v.Interface()
}

func fieldsByName(v reflect.Value) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return out
		}
		v = v.Elem()
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("pulumi")
		if tag == "" && f.Anonymous {
			for k, fv := range fieldsByName(v.Field(i)) {
				out[k] = fv
			}
			continue
		}
		if name := strings.Split(tag, ",")[0]; name != "" {
			out[name] = v.Field(i)
		}
	}
	return out
}

// quietOnly says whether every change is to how a cluster is reached or how
// long to wait. Such an update records the new inputs without touching the
// cluster: a rotated kubeconfig must not reinstall Istio or reissue tokens.
func quietOnly(diff map[string]p.PropertyDiff) bool {
	if len(diff) == 0 {
		return false
	}
	for path := range diff {
		switch {
		case strings.HasSuffix(path, ".kubeconfig"), strings.HasSuffix(path, ".kubeconfigFile"), strings.HasSuffix(path, ".context"):
		case path == "timeoutSeconds", path == "waitForAddress", path == "wait":
		default:
			return false
		}
	}
	return true
}
