package helmvalues

// Merge returns a deep merge of src over dst: where both hold a map under the
// same key the maps are merged recursively, anything else in src (scalars,
// lists and explicit nils) replaces what dst holds. Lists are replaced, never
// concatenated, as Helm does.
//
// Neither input is modified and the result shares no map or slice with them,
// so callers may keep mutating either afterwards. An explicit nil in src is
// kept: Helm reads a null value as "remove this key from the chart's defaults".
func Merge(dst, src map[string]any) map[string]any {
	out := copyMap(dst)
	if out == nil {
		out = map[string]any{}
	}
	mergeInto(out, src)
	return out
}

// mergeInto merges src into out, which the caller owns outright.
func mergeInto(out, src map[string]any) {
	for k, sv := range src {
		sm, srcIsMap := asMap(sv)
		if dv, ok := out[k]; ok && srcIsMap {
			if dm, dstIsMap := dv.(map[string]any); dstIsMap {
				mergeInto(dm, sm)
				continue
			}
		}
		out[k] = copyValue(sv)
	}
}

// asMap reports whether v is a map Merge descends into.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[string]string:
		return m2any(m), true
	}
	return nil, false
}

func m2any(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// copyMap returns a deep copy of m; nil stays nil.
func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

// copyValue deep-copies the container shapes values are made of and
// normalises typed containers to map[string]any and []any; scalars are
// returned as they are.
func copyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return copyMap(t)
	case map[string]string:
		return m2any(t)
	case []any:
		if t == nil {
			return []any(nil)
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = copyValue(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = copyMap(e)
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = e
		}
		return out
	default:
		return v
	}
}
