package localcluster

import "testing"

func TestAddressPoolGivesDistinctStableAddresses(t *testing.T) {
	var p addressPool
	a, _ := p.get("cluster1/default/gw")
	b, _ := p.get("cluster2/default/gw")
	again, _ := p.get("cluster1/default/gw")
	if a == b {
		t.Fatalf("two services got %s", a)
	}
	if again != a {
		t.Fatalf("same service asked twice: %s then %s", a, again)
	}
	for i := range 252 {
		if _, err := p.get(string(rune('a' + i))); err != nil {
			t.Fatalf("address %d: %v", i+3, err)
		}
	}
	if _, err := p.get("one too many"); err == nil {
		t.Fatal("want an error once 127.0.1.0/24 is used up")
	}
}
