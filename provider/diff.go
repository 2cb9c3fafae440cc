package provider

import (
	"context"
	"reflect"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// How a change to an input is applied is declared on the input's field:
//
//	provider:"replaceOnChanges"  infer's own tag: the resource is replaced
//	                             (another cluster, another root), and
//	                             schema.json, the SDKs and their docs say so;
//	diff:"quiet"                 the new value is recorded without touching
//	                             the cluster: how a cluster is reached, how
//	                             long to wait;
//	diff:"mark"                  the new value is written as a mark on what
//	                             the resource owns, in place, and nothing
//	                             else changes (meshIdentity);
//	diff:"ignore"                no diff at all: context a guard reads at
//	                             Check, such as the other clusters of the mesh.
//
// Untagged inputs update in place. The tag of an object's field applies to
// that property in every resource using the object (ClusterConnection.name).
// Every resource has its own Diff (drift found by Read must show), so infer's
// default diff, which obeys replaceOnChanges, never runs: diffInputs reads
// the tag itself. "quiet" and "ignore" stay tags of ours: the schema has no
// word for an update that leaves the cluster alone, or for no diff at all.
const (
	diffTag    = "diff"
	diffQuiet  = "quiet"
	diffMark   = "mark"
	diffIgnore = "ignore"
)

// diffInputs compares two input structs field by field, by their pulumi
// names: embedded structs are flattened and nested objects are compared
// property by property ("cluster.name"), each with its own diff tag.
func diffInputs(old, new any) map[string]p.PropertyDiff {
	diff := map[string]p.PropertyDiff{}
	diffFields(diff, "", reflect.ValueOf(old), reflect.ValueOf(new))
	return diff
}

func diffFields(diff map[string]p.PropertyDiff, prefix string, old, new reflect.Value) {
	ov, nv := fieldsByName(old), fieldsByName(new)
	for name, n := range nv {
		o, path := ov[name], prefix+name
		if n.ignore {
			continue
		}
		if isObject(o.value) && isObject(n.value) {
			diffFields(diff, path+".", o.value, n.value)
			continue
		}
		if reflect.DeepEqual(normalize(o.value), normalize(n.value)) {
			continue
		}
		kind := p.Update
		if n.replace {
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

// field is one input: its value and how a change to it is applied.
type field struct {
	value   reflect.Value
	replace bool
	quiet   bool
	mark    bool
	ignore  bool
}

func fieldsByName(v reflect.Value) map[string]field {
	out := map[string]field{}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return out
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return out
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
			out[name] = field{
				value:   v.Field(i),
				replace: slices.Contains(strings.Split(f.Tag.Get("provider"), ","), "replaceOnChanges"),
				quiet:   f.Tag.Get(diffTag) == diffQuiet,
				mark:    f.Tag.Get(diffTag) == diffMark,
				ignore:  f.Tag.Get(diffTag) == diffIgnore,
			}
		}
	}
	return out
}

// quietOnly says whether every change in diff is to an input of inputs (an
// input struct) tagged diff:"quiet". Such an update records the new inputs
// without touching the cluster: a rotated kubeconfig must not reinstall Istio
// or reissue tokens. Other entries, such as drift found by refresh, are not
// quiet.
func quietOnly(diff map[string]p.PropertyDiff, inputs any) bool {
	if len(diff) == 0 {
		return false
	}
	for path := range diff {
		if !fieldAt(reflect.ValueOf(inputs), path).quiet {
			return false
		}
	}
	return true
}

// markOnly says whether a diff changes a mark (diff:"mark") and otherwise
// only quiet inputs: the update writes the mark on what the resource owns
// and nothing else.
func markOnly(diff map[string]p.PropertyDiff, inputs any) bool {
	marked := false
	for path := range diff {
		switch f := fieldAt(reflect.ValueOf(inputs), path); {
		case f.mark:
			marked = true
		case !f.quiet:
			return false
		}
	}
	return marked
}

// fieldAt is the input at a dotted path of struct v (the zero field when
// there is none).
func fieldAt(v reflect.Value, path string) field {
	name, rest, nested := strings.Cut(path, ".")
	f, ok := fieldsByName(v)[name]
	switch {
	case !ok:
		return field{}
	case nested:
		return fieldAt(f.value, rest)
	}
	return f
}

// checkInputs is the Check every resource shares: infer's default check of
// A, then, when the inputs decode and match the schema, more on them. old
// holds the previous inputs of an existing resource (nil for a new one), for
// checks of the change itself.
func checkInputs[A any](ctx context.Context, req infer.CheckRequest, more func(args A, old *A) []p.CheckFailure) (infer.CheckResponse[A], error) {
	args, failures, err := infer.DefaultCheck[A](ctx, req.NewInputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[A]{Inputs: args, Failures: failures}, err
	}
	var old *A
	if req.OldInputs.Len() > 0 {
		if prev, _, err := infer.DefaultCheck[A](ctx, req.OldInputs); err == nil {
			old = &prev
		}
	}
	failures = more(args, old)
	if m, ok := any(args).(meshMarked); ok {
		failures = append(failures, checkMeshMark(m)...)
	}
	return infer.CheckResponse[A]{Inputs: args, Failures: failures}, nil
}
