package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	ristio "github.com/ristio/pulumi-ristio"
)

// The component's inputs are copied into MultiClusterMeshArgs when it is
// constructed, so a field of a plain Go type needs its value then: given an
// output (another resource's attribute), the copy fails at preview with
// "expected destination type to implement pulumi.Input". infer's schema types
// every nested input as an Input all the same, so the SDKs offered what cannot
// work. servePlainInputs marks the scalar ones plain in the schema the
// provider serves (and the SDKs are generated from): each language's compiler,
// or Pulumi YAML's checker, refuses an output there, and the fields that are
// pulumi.Inputs (kubeconfig, remoteApiServer, gatewayAddress, the
// certificate's PEMs and password) keep taking outputs.
//
// Objects, lists of objects and maps (certificate, clusters, roots,
// istiodValues) stay inputs: Pulumi's Go program generator, which `pulumi
// convert --language go` runs on the converter's programs, writes Go that
// does not parse for plain ones. Their scalar fields are marked all the same.
func servePlainInputs(prov p.Provider) p.Provider {
	getSchema := prov.GetSchema
	prov.GetSchema = func(ctx context.Context, req p.GetSchemaRequest) (p.GetSchemaResponse, error) {
		resp, err := getSchema(ctx, req)
		if err != nil {
			return resp, err
		}
		resp.Schema, err = markPlainInputs(resp.Schema, ristio.MeshToken, reflect.TypeFor[MultiClusterMeshArgs]())
		return resp, err
	}
	return prov
}

// markPlainInputs marks plain, in the JSON schema spec, each scalar input of
// component token that args holds in a plain Go type, and each such property
// of the object types its inputs hold, recursively.
func markPlainInputs(spec, token string, args reflect.Type) (string, error) {
	var pkg map[string]any
	if err := json.Unmarshal([]byte(spec), &pkg); err != nil {
		return "", fmt.Errorf("reading the schema: %w", err)
	}
	resource, _ := dig(pkg, "resources", token).(map[string]any)
	inputs, _ := resource["inputProperties"].(map[string]any)
	if inputs == nil {
		return "", fmt.Errorf("the schema has no inputs for %s", token)
	}
	types, _ := pkg["types"].(map[string]any)
	if err := markPlainFields(inputs, args, types); err != nil {
		return "", err
	}
	out, err := json.Marshal(pkg)
	return string(out), err
}

var inputType = reflect.TypeFor[pulumi.Input]()

func markPlainFields(props map[string]any, t reflect.Type, types map[string]any) error {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("pulumi"), ",")
		if name == "" || f.Type.Implements(inputType) {
			continue
		}
		prop, ok := props[name].(map[string]any)
		if !ok {
			return fmt.Errorf("the schema of %s has no property %s", t.Name(), name)
		}
		elem := f.Type
		for elem.Kind() == reflect.Pointer || elem.Kind() == reflect.Slice {
			elem = elem.Elem()
		}
		if elem.Kind() != reflect.Struct && elem.Kind() != reflect.Map {
			prop["plain"] = true
		}
		if elem.Kind() != reflect.Struct {
			continue
		}
		token := ristio.Name + ":index:" + elem.Name()
		nested, _ := dig(types, token, "properties").(map[string]any)
		if nested == nil {
			return fmt.Errorf("the schema has no type %s", token)
		}
		if err := markPlainFields(nested, elem, types); err != nil {
			return err
		}
	}
	return nil
}

// dig follows keys through nested JSON objects; nil when one is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
