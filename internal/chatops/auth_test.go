package chatops

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/activities/notify"
)

// syncBuffer is a log sink safe for the handler's background goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records returns the JSON log records written so far.
func (s *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func jsonLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, nil)), buf
}

func TestUnmappedSlashUserRefusedByDefault(t *testing.T) {
	for name, opts := range map[string][]Option{
		"no user map":         nil,
		"someone else mapped": {WithUserMap(map[string]string{"U1": "alice"})},
	} {
		t.Run(name, func(t *testing.T) {
			u := &fakeUpdater{}
			h := NewHandler(u, secret, append(opts, WithUserMapSource("file /etc/cutover/slack-users.json"))...)
			// U9 calls themselves alice: their claimed name must not count.
			code, reply := serve(t, h, signed(t, slash("approve cutover-shop cutover", "U9", "alice", ""), time.Now()))
			if code != http.StatusOK || reply["response_type"] != "ephemeral" {
				t.Fatalf("status %d, reply %v: want an ephemeral refusal", code, reply)
			}
			text := reply["text"].(string)
			for _, want := range []string{"<@U9>", "`U9`", "not mapped", "`U9=&lt;your approver name&gt;`", "file /etc/cutover/slack-users.json"} {
				if !strings.Contains(text, want) {
					t.Errorf("refusal %q does not say %q", text, want)
				}
			}
			if strings.Contains(text, "approved") {
				t.Errorf("refusal %q reads like a decision", text)
			}
			if n := len(u.recorded()); n != 0 {
				t.Fatalf("updater called %d times for an unmapped user", n)
			}
		})
	}
}

func TestUnmappedButtonUserRefusedByDefault(t *testing.T) {
	r := newResponseURL(t)
	u := &fakeUpdater{}
	log, logs := jsonLogger()
	h := NewHandler(u, secret, WithUserMap(map[string]string{"U1": "alice"}), WithLogger(log))
	code, _ := serve(t, h, signed(t, buttonPayloadFrom(t, "U9", "alice", notify.ActionApprove, notify.ActionValue("cutover-shop", "cutover"), r.URL), time.Now()))
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	got := r.next(t)
	text, _ := got["text"].(string)
	if got["response_type"] != "ephemeral" || got["replace_original"] != false || !strings.Contains(text, "`U9`") || !strings.Contains(text, "cutover chatops serve --user-map") {
		t.Fatalf("response_url got %v: want an ephemeral refusal naming U9 and the user map", got)
	}
	if n := len(u.recorded()); n != 0 {
		t.Fatalf("updater called %d times for an unmapped user", n)
	}
	var logged bool
	for _, rec := range logs.records(t) {
		if rec["msg"] == "Slack user refused: not mapped to an approver" && rec["slackUser"] == "U9" && rec["gate"] == "cutover" {
			logged = true
		}
	}
	if !logged {
		t.Fatalf("refusal not logged: %v", logs.records(t))
	}
}

func TestMappedUserDecidesUnderMappedName(t *testing.T) {
	r := newResponseURL(t)
	u := &fakeUpdater{}
	h := NewHandler(u, secret, WithUserMap(map[string]string{"U1": "alice"}))
	// U1 renamed themselves "bob" in Slack: they still decide as alice.
	_, reply := serve(t, h, signed(t, slash("approve cutover-shop cutover", "U1", "bob", ""), time.Now()))
	if reply["text"] != `Gate "cutover" of cutover-shop approved by alice.` {
		t.Fatalf("slash reply %v", reply)
	}
	serve(t, h, signed(t, buttonPayloadFrom(t, "U1", "bob", notify.ActionReject, notify.ActionValue("cutover-shop", "retire"), r.URL), time.Now()))
	r.next(t)
	calls := u.recorded()
	if len(calls) != 2 || calls[0].d.By != "alice" || calls[1].d.By != "alice" || calls[1].d.Gate != "retire" {
		t.Fatalf("calls %+v: want both decisions by alice", calls)
	}
}

func TestAllowUnmappedUsersRestoresClaimedNames(t *testing.T) {
	r := newResponseURL(t)
	u := &fakeUpdater{}
	log, logs := jsonLogger()
	h := NewHandler(u, secret, WithUserMap(map[string]string{"U1": "alice"}), AllowUnmappedUsers(), WithLogger(log))
	_, reply := serve(t, h, signed(t, slash("approve cutover-shop cutover", "U9", "carol", ""), time.Now()))
	if reply["text"] != `Gate "cutover" of cutover-shop approved by carol.` {
		t.Fatalf("unmapped slash with the opt-out: %v", reply)
	}
	serve(t, h, signed(t, buttonPayloadFrom(t, "U8", "dave", notify.ActionApprove, notify.ActionValue("cutover-shop", "retire"), r.URL), time.Now()))
	r.next(t)
	// A mapped user still decides under the mapped name.
	serve(t, h, signed(t, slash("approve cutover-shop cutover", "U1", "mallory", ""), time.Now()))
	// No user name at all: nothing to decide under.
	_, reply = serve(t, h, signed(t, slash("approve cutover-shop cutover", "U7", "", ""), time.Now()))
	if reply["response_type"] != "ephemeral" || !strings.Contains(reply["text"].(string), "not mapped") {
		t.Fatalf("no user name: %v", reply)
	}
	calls := u.recorded()
	if len(calls) != 3 || calls[0].d.By != "carol" || calls[1].d.By != "dave" || calls[2].d.By != "alice" {
		t.Fatalf("calls %+v: want carol, dave, alice", calls)
	}
	var warned, unmappedLogged bool
	for _, rec := range logs.records(t) {
		if rec["level"] == "WARN" && strings.HasPrefix(rec["msg"].(string), "Chatops lets unmapped Slack users decide") {
			warned = true
		}
		if rec["msg"] == "Gate decided from Slack" && rec["by"] == "carol" && rec["mapped"] == false {
			unmappedLogged = true
		}
	}
	if !warned || !unmappedLogged {
		t.Fatalf("want a start-up warning and mapped=false on carol's decision: %v", logs.records(t))
	}
}

func TestReplayedRequestRefused(t *testing.T) {
	r := newResponseURL(t)
	u := &fakeUpdater{}
	log, logs := jsonLogger()
	h := NewHandler(u, secret, team, WithLogger(log))
	now := time.Now()
	body := slash("approve cutover-shop cutover", "U1", "alice", "")
	ts, sig := Sign(secret, now.Add(-time.Minute), []byte(body))
	send := func(ts, sig, body string) int {
		req := signed(t, body, now)
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		code, _ := serve(t, h, req)
		return code
	}
	if code := send(ts, sig, body); code != http.StatusOK {
		t.Fatalf("first delivery: status %d", code)
	}
	for i := 0; i < 3; i++ {
		if code := send(ts, sig, body); code != http.StatusUnauthorized {
			t.Fatalf("replay %d: status %d, want 401", i+1, code)
		}
	}
	// The same command, freshly signed (another timestamp), is a new request.
	ts2, sig2 := Sign(secret, now, []byte(body))
	if code := send(ts2, sig2, body); code != http.StatusOK {
		t.Fatalf("fresh request: status %d", code)
	}
	// Buttons are guarded the same way.
	click := buttonPayload(t, notify.ActionApprove, notify.ActionValue("cutover-shop", "retire"), r.URL)
	ts3, sig3 := Sign(secret, now, []byte(click))
	if code := send(ts3, sig3, click); code != http.StatusOK {
		t.Fatalf("click: status %d", code)
	}
	r.next(t)
	if code := send(ts3, sig3, click); code != http.StatusUnauthorized {
		t.Fatalf("replayed click: status %d, want 401", code)
	}
	h.(*handler).wait(t.Context())
	if n := len(u.recorded()); n != 3 {
		t.Fatalf("updater called %d times, want 3 (first command, fresh command, click)", n)
	}
	replays := 0
	for _, rec := range logs.records(t) {
		if rec["msg"] == "Slack request refused" && rec["reason"] == ErrReplayed.Error() && rec["timestamp"] != nil {
			replays++
		}
	}
	if replays != 4 {
		t.Fatalf("%d replays logged, want 4: %v", replays, logs.records(t))
	}
}

func TestReplayAfterTheWindowIsStale(t *testing.T) {
	u := &fakeUpdater{}
	start := time.Now().Truncate(time.Second) // Slack timestamps are whole seconds
	now := start
	h := NewHandler(u, secret, team, WithClock(func() time.Time { return now }))
	body := slash("approve cutover-shop cutover", "U1", "alice", "")
	ts, sig := Sign(secret, start, []byte(body))
	send := func() int {
		req := signed(t, body, start)
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		code, _ := serve(t, h, req)
		return code
	}
	if code := send(); code != http.StatusOK {
		t.Fatalf("first: %d", code)
	}
	now = start.Add(MaxClockSkew) // last second of the window: still remembered
	if code := send(); code != http.StatusUnauthorized {
		t.Fatalf("replay at the window's edge: %d", code)
	}
	now = start.Add(MaxClockSkew + time.Second) // gone from memory, refused as stale
	if code := send(); code != http.StatusUnauthorized {
		t.Fatalf("replay after the window: %d", code)
	}
	// The next accepted request drops what left the window: only it stays.
	// It is signed a minute after the first (within the window of this
	// clock, and of the real one slack-go's verifier also checks).
	if code, _ := serve(t, h, signed(t, body, start.Add(time.Minute))); code != http.StatusOK {
		t.Fatalf("fresh request: %d", code)
	}
	if n := h.(*handler).replay.size(); n != 1 {
		t.Fatalf("%d signatures remembered, want 1 (the expired one dropped)", n)
	}
	if n := len(u.recorded()); n != 2 {
		t.Fatalf("updater called %d times, want 2", n)
	}
}

func sigOf(b byte) (s [32]byte) { s[0] = b; return s }

func TestReplayGuardForgetsExpiredSignatures(t *testing.T) {
	g := newReplayGuard(3)
	t0 := time.Unix(1_700_000_000, 0)
	// Timestamps out of arrival order (up to MaxClockSkew in the future).
	for i, at := range []time.Time{t0.Add(2 * time.Minute), t0, t0.Add(time.Minute)} {
		if err := g.admit(sigOf(byte(i)), at, t0); err != nil {
			t.Fatalf("admit %d: %v", i, err)
		}
	}
	if err := g.admit(sigOf(1), t0, t0); !errors.Is(err, ErrReplayed) {
		t.Fatalf("second admit: %v, want ErrReplayed", err)
	}
	if err := g.admit(sigOf(9), t0, t0); !errors.Is(err, ErrReplayMemoryFull) {
		t.Fatalf("full: %v, want ErrReplayMemoryFull", err)
	}
	// t0's entry leaves at t0+5m; the others stay.
	if err := g.admit(sigOf(9), t0.Add(time.Minute), t0.Add(MaxClockSkew+time.Second)); err != nil {
		t.Fatalf("after one expiry: %v", err)
	}
	if n := g.size(); n != 3 {
		t.Fatalf("size %d, want 3", n)
	}
	if err := g.admit(sigOf(1), t0, t0.Add(MaxClockSkew+time.Second)); !errors.Is(err, errExpired) {
		t.Fatalf("expired signature: %v, want errExpired", err)
	}
	// A clock stepping back does not bring an expired entry back to life.
	if err := g.admit(sigOf(1), t0, t0); !errors.Is(err, errExpired) {
		t.Fatalf("clock stepped back: %v, want errExpired", err)
	}
	// Everything expires; the memory is empty again.
	if err := g.admit(sigOf(20), t0.Add(20*time.Minute), t0.Add(20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, q := g.size(), len(g.queue); n != 1 || q != 1 {
		t.Fatalf("size %d, queue %d after everything else expired, want 1 and 1", n, q)
	}
}

func TestReplayMemoryFullFailsClosed(t *testing.T) {
	u := &fakeUpdater{}
	h := NewHandler(u, secret, team)
	h.(*handler).replay.max = 1
	now := time.Now()
	if code, _ := serve(t, h, signed(t, slash("approve cutover-shop cutover", "U1", "alice", ""), now)); code != http.StatusOK {
		t.Fatalf("first: %d", code)
	}
	if code, _ := serve(t, h, signed(t, slash("approve cutover-shop retire", "U1", "alice", ""), now)); code != http.StatusServiceUnavailable {
		t.Fatalf("over the bound: %d, want 503", code)
	}
	if n := len(u.recorded()); n != 1 {
		t.Fatalf("updater called %d times", n)
	}
}

func TestParseUserMap(t *testing.T) {
	m, err := ParseUserMap("U1=alice, U2=bob\nW3=carol")
	if err != nil || len(m) != 3 || m["U2"] != "bob" || m["W3"] != "carol" {
		t.Fatalf("%v, %v", m, err)
	}
	if m, err := ParseUserMap(""); err != nil || len(m) != 0 {
		t.Fatalf("empty: %v, %v", m, err)
	}
	for _, bad := range []string{"U1alice", "alice=U0123ABC", "U1=alice,U1=bob", "U1=", "u0123abc=alice"} {
		var ue *UserMapError
		if _, err := ParseUserMap(bad); !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a UserMapError", bad, err)
		}
	}
}

func TestLoadUserMap(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for name, content := range map[string]string{
		"map.json": `{"U0123ABC": "alice", "U0456DEF": "bob"}`,
		"map.txt":  "# platform team\nU0123ABC=alice\n\nU0456DEF = bob\n",
	} {
		m, err := LoadUserMap(write(name, content))
		if err != nil || len(m) != 2 || m["U0123ABC"] != "alice" || m["U0456DEF"] != "bob" {
			t.Errorf("%s: %v, %v", name, m, err)
		}
	}
	for name, c := range map[string]struct{ content, want string }{
		"dup.json":      {`{"U1": "alice", "U1": "mallory"}`, "U1 is mapped twice"},
		"number.json":   {`{"U1": 7}`, `value of "U1"`},
		"trailing.json": {`{"U1": "alice"} {}`, "trailing data"},
		"reversed.txt":  {"alice=U0123ABC\n", `"alice" is not a Slack user ID`},
		"dup.txt":       {"U1=alice\nU1=mallory\n", "dup.txt:2"},
		"spaces.json":   {`{"U1": "alice smith"}`, "without spaces"},
	} {
		p := write(name, c.content)
		_, err := LoadUserMap(p)
		var ue *UserMapError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a UserMapError saying %q", name, err, c.want)
		}
	}
	if _, err := LoadUserMap(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestServeFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "users.json")
	if err := os.WriteFile(file, []byte(`{"U1": "alice"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	parse := func(args ...string) ([]Option, error) {
		t.Helper()
		t.Setenv(EnvUserMapFile, "")
		t.Setenv(EnvSlackUsers, "")
		t.Setenv(EnvUserMapHint, "")
		var f ServeFlags
		fs := flag.NewFlagSet("chatops serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f.Register(fs)
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		return f.Options()
	}
	if _, err := parse(); !errors.Is(err, ErrNoUsersMapped) {
		t.Fatalf("no map: %v, want ErrNoUsersMapped", err)
	}
	if _, err := parse("--allow-unmapped-users", "--require-mapped-users"); err == nil {
		t.Fatal("contradictory flags accepted")
	}
	if _, err := parse("--user-map", file, "--slack-users", "U1=mallory"); err == nil || !strings.Contains(err.Error(), "mapped twice") {
		t.Fatalf("conflicting maps: %v", err)
	}

	decide := func(opts []Option, userID, userName string) (string, []call) {
		t.Helper()
		u := &fakeUpdater{}
		h := NewHandler(u, secret, opts...)
		_, reply := serve(t, h, signed(t, slash("approve cutover-shop cutover", userID, userName, ""), time.Now()))
		return reply["text"].(string), u.recorded()
	}
	opts, err := parse("--user-map", file, "--slack-users", "U2=bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, calls := decide(opts, "U2", "x"); len(calls) != 1 || calls[0].d.By != "bob" {
		t.Fatalf("--slack-users user: %+v", calls)
	}
	if text, calls := decide(opts, "U9", "alice"); len(calls) != 0 || !strings.Contains(text, "file "+file+" or --slack-users of `cutover chatops serve`") {
		t.Fatalf("unmapped: %q %+v", text, calls)
	}
	opts, err = parse("--user-map", file, "--user-map-hint", "chatops.userMap of Helm release cutover")
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := decide(opts, "U9", "alice"); !strings.Contains(text, "chatops.userMap of Helm release cutover") {
		t.Fatalf("hint not shown: %q", text)
	}
	// The environment sets the map file too.
	t.Setenv(EnvUserMapFile, file)
	var f ServeFlags
	fs := flag.NewFlagSet("chatops serve", flag.ContinueOnError)
	f.Register(fs)
	if err := fs.Parse(nil); err != nil || f.UserMapFile != file {
		t.Fatalf("env %s: %q, %v", EnvUserMapFile, f.UserMapFile, err)
	}
	// The opt-out, with no map, decides under the claimed name.
	opts, err = parse("--allow-unmapped-users")
	if err != nil {
		t.Fatal(err)
	}
	if _, calls := decide(opts, "U9", "carol"); len(calls) != 1 || calls[0].d.By != "carol" {
		t.Fatalf("--allow-unmapped-users: %+v", calls)
	}
}
