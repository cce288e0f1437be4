package workflows_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/activities/velero"
)

// activitySignatures maps every real activity's name to its method type.
func activitySignatures() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for _, a := range []any{(*eks.Activities)(nil), (*kube.Activities)(nil), (*argocd.Activities)(nil),
		(*velero.Activities)(nil), (*traffic.Activities)(nil), (*notify.Activities)(nil)} {
		t := reflect.TypeOf(a)
		for i := 0; i < t.NumMethod(); i++ {
			out[t.Method(i).Name] = t.Method(i).Type
		}
	}
	return out
}

// TestRecordedPayloadsDecode reads every activity input and result recorded
// in testdata/histories into today's activity types, refusing unknown
// fields, and checks it encodes back to the same JSON: an activity retried
// on a new worker, and a replayed workflow, read what the old ones wrote.
func TestRecordedPayloadsDecode(t *testing.T) {
	sigs := activitySignatures()
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no histories: %v", err)
	}
	seen := map[string]int{}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		h, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		scheduled := map[int64]string{}
		for _, e := range h.GetEvents() {
			switch e.GetEventType() {
			case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				a := e.GetActivityTaskScheduledEventAttributes()
				name := a.GetActivityType().GetName()
				scheduled[e.GetEventId()] = name
				sig, ok := sigs[name]
				if !ok {
					t.Errorf("%s: event %d schedules %s, which is no activity", filepath.Base(f), e.GetEventId(), name)
					continue
				}
				// In(0) is the receiver, In(1) the context.
				for i, p := range a.GetInput().GetPayloads() {
					checkPayload(t, f, name+" input", p, sig.In(2+i))
				}
				seen[name]++
			case enums.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
				a := e.GetActivityTaskCompletedEventAttributes()
				name := scheduled[a.GetScheduledEventId()]
				sig, ok := sigs[name]
				if !ok || sig.NumOut() < 2 {
					continue
				}
				for _, p := range a.GetResult().GetPayloads() {
					checkPayload(t, f, name+" result", p, sig.Out(0))
				}
			}
		}
	}
	for _, name := range []string{"SmokeTestGreen", "SetTrafficWeights", "GetTrafficWeights", "CheckTrafficHealth", "RetireEKSCluster"} {
		if seen[name] == 0 {
			t.Errorf("no recorded history schedules %s: the test proves nothing for it", name)
		}
	}
}

func checkPayload(t *testing.T, file, what string, p *commonpb.Payload, typ reflect.Type) {
	t.Helper()
	data := p.GetData()
	if string(p.GetMetadata()["encoding"]) != "json/plain" {
		return
	}
	v := reflect.New(typ)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v.Interface()); err != nil {
		t.Errorf("%s: %s does not decode into %s: %v\n%s", filepath.Base(file), what, typ, err, data)
		return
	}
	again, err := json.Marshal(v.Interface())
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	_ = json.Unmarshal(data, &want)
	_ = json.Unmarshal(again, &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: %s reads differently as %s:\n got %s\nwant %s", filepath.Base(file), what, typ, again, data)
	}
}
