package provider

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// props are the inputs the component registers a child with, named by the
// pulumi tags of the child's own input type A. A property is set through a
// pointer to its field of A (p.set(&p.of.RootCertPEM, ...)), so renaming or
// removing an input fails to compile here, not at registration in an e2e run.
type props[A any] struct {
	// of is never read: its fields' addresses name the properties.
	of A
	m  pulumi.Map
}

func newProps[A any]() *props[A] { return &props[A]{m: pulumi.Map{}} }

// set records v as the property behind field, a pointer into p.of. A nil v
// (an optional input not given) leaves the property out.
func (p *props[A]) set(field any, v pulumi.Input) {
	if isNil(v) {
		return
	}
	p.m[p.name(field)] = v
}

// secret records v as a secret.
func (p *props[A]) secret(field any, v pulumi.Input) {
	if isNil(v) {
		return
	}
	p.set(field, pulumi.ToSecret(v))
}

func (p *props[A]) name(field any) string {
	addr := reflect.ValueOf(field).Pointer()
	if name, ok := tagAt(reflect.ValueOf(&p.of).Elem(), addr); ok {
		return name
	}
	panic(fmt.Sprintf("props: %T is not a pointer to a field of %T", field, p.of))
}

// tagAt finds the pulumi name of the field of struct v at addr, looking into
// embedded structs (which share their inputs with the outer type).
func tagAt(v reflect.Value, addr uintptr) (string, bool) {
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		tag := strings.Split(f.Tag.Get("pulumi"), ",")[0]
		if f.Anonymous && tag == "" {
			if name, ok := tagAt(fv, addr); ok {
				return name, true
			}
			continue
		}
		if tag != "" && fv.Addr().Pointer() == addr {
			return tag, true
		}
	}
	return "", false
}

func isNil(v pulumi.Input) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return r.IsNil()
	}
	return false
}

// Optional inputs of the component, as inputs of a child: nil when not given.
// optNonEmpty is optString with "" as unset too.
func optNonEmpty(v *string) pulumi.Input {
	if deref(v) == "" {
		return nil
	}
	return pulumi.String(*v)
}

func optString(v *string) pulumi.Input {
	if v == nil {
		return nil
	}
	return pulumi.String(*v)
}

func optInt(v *int) pulumi.Input {
	if v == nil {
		return nil
	}
	return pulumi.Int(*v)
}

func optBool(v *bool) pulumi.Input {
	if v == nil {
		return nil
	}
	return pulumi.Bool(*v)
}

// tokenOf is the type token the provider serves resource r under: infer's
// token with this provider's name and module map applied, so the component
// registers each child under the token its resource really has.
func tokenOf(r interface{ GetToken() (tokens.Type, error) }) string {
	tk, err := r.GetToken()
	if err != nil {
		panic(fmt.Sprintf("token of %T: %v", r, err))
	}
	module := tk.Module().Name()
	if mapped, ok := moduleMap[module]; ok {
		module = mapped
	}
	return string(tokens.NewTypeToken(tokens.NewModuleToken(tokens.Package(Name), module), tk.Name()))
}
