// Package slacktest is a fake Slack Web API for tests: an httptest server
// that keeps channels, threads, message metadata and uploaded files, and
// answers the methods cutover calls (chat.postMessage, chat.update,
// conversations.history, conversations.replies, files.getUploadURLExternal,
// the upload URL, files.completeUploadExternal, files.info) the way Slack
// documents them: form or JSON bodies, the bot token as a Bearer header or
// a token field, {"ok":false,"error":...} answers for bad arguments.
//
// Tests can queue failures for a method (Fail), drop the connection after
// a post is stored (DropAnswers: the caller cannot tell it went through),
// and read back every call and message.
package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Call is one request the server answered (or refused).
type Call struct {
	Method string
	// Auth is the token the request carried (header or form), without "Bearer ".
	Auth string
	// Args are the request's arguments; JSON bodies are flattened to one
	// value per top-level key (objects and arrays as JSON text).
	Args url.Values
}

// Message is a message the server keeps.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // empty for a top-level message
	Text     string
	// Blocks is the Block Kit JSON the message carries (as sent).
	Blocks string
	// Metadata is the message metadata JSON (as sent).
	Metadata string
	// Files are the IDs of files shared in this message.
	Files []string
	// Updates counts chat.update calls on it.
	Updates int
}

// File is an uploaded file.
type File struct {
	ID, Name, Title string
	Content         []byte
	Channel         string
	ThreadTS        string
	Completed       bool
}

// Failure is a canned answer for one call of a method.
type Failure struct {
	Status     int    // HTTP status, default 200
	Error      string // Slack's error (ok:false); empty with a non-200 Status sends Body
	Body       string // raw body, when Error is empty
	RetryAfter int    // seconds, sent as Retry-After
}

// Server is the fake Slack.
type Server struct {
	*httptest.Server
	// Token, when set, is the only bot token accepted (invalid_auth otherwise).
	Token string

	mu       sync.Mutex
	calls    []Call
	messages []*Message
	files    map[string]*File
	names    map[string]string // #name -> channel ID
	fail     map[string][]Failure
	drop     int
	seq      int64 // microseconds of the last ts given
}

// channelID matches a conversation ID.
var channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{6,}$`)

// New starts a fake Slack; it is closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{files: map[string]*File{}, names: map[string]string{}, fail: map[string][]Failure{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// APIURL is the base URL to give a Slack client (slack.OptionAPIURL wants
// the trailing slash).
func (s *Server) APIURL() string { return s.URL + "/api/" }

// Fail makes the next len(f) calls of method answer with f, in order.
func (s *Server) Fail(method string, f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = append(s.fail[method], f...)
}

// DropAnswers makes the next n chat.postMessage calls store the message
// and then close the connection without an answer.
func (s *Server) DropAnswers(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop = n
}

// ChannelID is the ID the server gives the channel #name (or name itself
// when it is an ID).
func (s *Server) ChannelID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resolve(name)
}

// Calls returns the calls of the given methods (all calls with none).
func (s *Server) Calls(methods ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(methods) == 0 || slices.Contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns copies of the messages of a channel (ID or #name), in
// the order they were posted, replies included.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.resolve(channel)
	var out []Message
	for _, m := range s.messages {
		if m.Channel == id {
			c := *m
			c.Files = slices.Clone(m.Files)
			out = append(out, c)
		}
	}
	return out
}

// Files returns copies of the files uploaded and shared.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, f := range s.files {
		c := *f
		c.Content = slices.Clone(f.Content)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *Server) resolve(name string) string {
	if channelID.MatchString(name) {
		return name
	}
	if id, ok := s.names[name]; ok {
		return id
	}
	id := fmt.Sprintf("C%08d", len(s.names)+1)
	s.names[name] = id
	return id
}

// nextTS is a message timestamp as Slack gives them: the time of the
// post in seconds with six decimals, unique within the server.
func (s *Server) nextTS() string {
	s.seq = max(s.seq+1, time.Now().UnixMicro())
	return fmt.Sprintf("%d.%06d", s.seq/1e6, s.seq%1e6)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if id, ok := strings.CutPrefix(r.URL.Path, "/upload/"); ok {
		s.upload(w, r, id)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	args, err := readArgs(r)
	if err != nil {
		answer(w, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if auth == "" {
		auth = args.Get("token")
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, Auth: auth, Args: args})
	if q := s.fail[method]; len(q) > 0 {
		f := q[0]
		s.fail[method] = q[1:]
		s.mu.Unlock()
		writeFailure(w, f)
		return
	}
	if auth == "" {
		s.mu.Unlock()
		answer(w, map[string]any{"ok": false, "error": "not_authed"})
		return
	}
	if s.Token != "" && auth != s.Token {
		s.mu.Unlock()
		answer(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	out, drop := s.handle(method, args)
	s.mu.Unlock()
	if drop {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.Close()
		}
		return
	}
	answer(w, out)
}

// handle answers one method; s.mu is held.
func (s *Server) handle(method string, args url.Values) (map[string]any, bool) {
	fail := func(e string) map[string]any { return map[string]any{"ok": false, "error": e} }
	switch method {
	case "chat.postMessage":
		ch := args.Get("channel")
		if ch == "" {
			return fail("channel_not_found"), false
		}
		if args.Get("text") == "" && args.Get("blocks") == "" {
			return fail("no_text"), false
		}
		if b := args.Get("blocks"); b != "" && !json.Valid([]byte(b)) {
			return fail("invalid_blocks_format"), false
		}
		id := s.resolve(ch)
		thread := args.Get("thread_ts")
		if thread != "" && s.find(id, thread) == nil {
			return fail("thread_not_found"), false
		}
		m := &Message{Channel: id, TS: s.nextTS(), ThreadTS: thread, Text: args.Get("text"), Blocks: args.Get("blocks"), Metadata: args.Get("metadata")}
		s.messages = append(s.messages, m)
		drop := s.drop > 0
		if drop {
			s.drop--
		}
		return map[string]any{"ok": true, "channel": id, "ts": m.TS, "message": s.view(m, true)}, drop
	case "chat.update":
		m := s.find(args.Get("channel"), args.Get("ts"))
		if m == nil {
			if !channelID.MatchString(args.Get("channel")) {
				return fail("channel_not_found"), false
			}
			return fail("message_not_found"), false
		}
		if args.Get("text") == "" && args.Get("blocks") == "" {
			return fail("no_text"), false
		}
		m.Text, m.Blocks = args.Get("text"), args.Get("blocks")
		m.Updates++
		return map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text}, false
	case "conversations.history", "conversations.replies":
		ch := args.Get("channel")
		if !channelID.MatchString(ch) {
			return fail("channel_not_found"), false
		}
		oldest, _ := strconv.ParseFloat(args.Get("oldest"), 64)
		meta := args.Get("include_all_metadata") == "true" || args.Get("include_all_metadata") == "1"
		var msgs []map[string]any
		for i := len(s.messages) - 1; i >= 0; i-- { // newest first, as Slack
			m := s.messages[i]
			if m.Channel != ch {
				continue
			}
			if ts, _ := strconv.ParseFloat(m.TS, 64); ts < oldest {
				continue
			}
			if method == "conversations.history" && m.ThreadTS != "" {
				continue
			}
			if method == "conversations.replies" && m.TS != args.Get("ts") && m.ThreadTS != args.Get("ts") {
				continue
			}
			msgs = append(msgs, s.view(m, meta))
		}
		if method == "conversations.replies" {
			if args.Get("ts") == "" {
				return fail("thread_not_found"), false
			}
			slices.Reverse(msgs) // the parent first, then replies oldest first
		}
		return map[string]any{"ok": true, "messages": msgs, "has_more": false}, false
	case "files.getUploadURLExternal":
		n, err := strconv.Atoi(args.Get("length"))
		if args.Get("filename") == "" || err != nil || n <= 0 {
			return fail("invalid_arguments"), false
		}
		id := fmt.Sprintf("F%08d", len(s.files)+1)
		s.files[id] = &File{ID: id, Name: args.Get("filename")}
		return map[string]any{"ok": true, "file_id": id, "upload_url": s.URL + "/upload/" + id}, false
	case "files.completeUploadExternal":
		var list []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		}
		if err := json.Unmarshal([]byte(args.Get("files")), &list); err != nil || len(list) == 0 {
			return fail("invalid_arguments"), false
		}
		var ids []string
		var done []map[string]any
		for _, l := range list {
			f := s.files[l.ID]
			if f == nil || f.Content == nil {
				return fail("file_not_found"), false
			}
			f.Title, f.Completed = l.Title, true
			ids = append(ids, f.ID)
			done = append(done, map[string]any{"id": f.ID, "title": f.Title})
		}
		if ch := args.Get("channel_id"); ch != "" {
			if !channelID.MatchString(ch) {
				return fail("channel_not_found"), false
			}
			thread := args.Get("thread_ts")
			if thread != "" && s.find(ch, thread) == nil {
				return fail("thread_not_found"), false
			}
			for _, id := range ids {
				s.files[id].Channel, s.files[id].ThreadTS = ch, thread
			}
			s.messages = append(s.messages, &Message{Channel: ch, TS: s.nextTS(), ThreadTS: thread, Text: args.Get("initial_comment"), Files: ids})
		}
		return map[string]any{"ok": true, "files": done}, false
	case "files.info":
		f := s.files[args.Get("file")]
		if f == nil || !f.Completed {
			return fail("file_not_found"), false
		}
		return map[string]any{"ok": true, "file": map[string]any{
			"id": f.ID, "name": f.Name, "title": f.Title, "size": len(f.Content),
			"permalink": s.URL + "/files/" + f.ID + "/" + url.PathEscape(f.Name),
		}}, false
	}
	return fail("unknown_method"), false
}

func (s *Server) find(channel, ts string) *Message {
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

func (s *Server) view(m *Message, withMetadata bool) map[string]any {
	v := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
	if m.ThreadTS != "" {
		v["thread_ts"] = m.ThreadTS
	}
	if m.Blocks != "" {
		v["blocks"] = json.RawMessage(m.Blocks)
	}
	if withMetadata && m.Metadata != "" {
		v["metadata"] = json.RawMessage(m.Metadata)
	}
	return v
}

// upload takes the file's bytes at its upload URL (multipart, as
// slack-go's UploadToURL sends it, or the raw body).
func (s *Server) upload(w http.ResponseWriter, r *http.Request, id string) {
	var content []byte
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FormName() == "file" {
				content, _ = io.ReadAll(p)
			}
		}
	} else {
		content, _ = io.ReadAll(r.Body)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Method: "upload", Args: url.Values{"file": {id}}})
	f := s.files[id]
	if f == nil {
		http.Error(w, "no such upload", http.StatusNotFound)
		return
	}
	f.Content = content
	_, _ = io.WriteString(w, "OK - "+strconv.Itoa(len(content)))
}

func readArgs(r *http.Request) (url.Values, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	args := r.URL.Query()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		var body map[string]json.RawMessage
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, err
		}
		for k, v := range body {
			var s string
			if json.Unmarshal(v, &s) == nil {
				args.Set(k, s)
			} else {
				args.Set(k, string(v))
			}
		}
		return args, nil
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, err
	}
	for k, v := range form {
		args[k] = v
	}
	return args, nil
}

func writeFailure(w http.ResponseWriter, f Failure) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if f.Error != "" {
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": f.Error})
		return
	}
	_, _ = io.WriteString(w, f.Body)
}

func answer(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}
