package duration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDurationJSON(t *testing.T) {
	var v struct{ D Duration }
	for in, want := range map[string]time.Duration{`{"D":"15m"}`: 15 * time.Minute, `{"D":90}`: 90 * time.Second, `{"D":"1h30m"}`: 90 * time.Minute} {
		if err := json.Unmarshal([]byte(in), &v); err != nil || v.D.D() != want {
			t.Errorf("%s: %v %v", in, v.D, err)
		}
	}
	if err := json.Unmarshal([]byte(`{"D":"fortnight"}`), &v); err == nil || !strings.Contains(err.Error(), `"fortnight"`) {
		t.Errorf("bad duration error: %v", err)
	}
	b, _ := json.Marshal(struct{ D Duration }{Duration(90 * time.Second)})
	if string(b) != `{"D":"1m30s"}` {
		t.Errorf("marshal %s", b)
	}
}
